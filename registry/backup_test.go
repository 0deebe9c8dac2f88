package registry

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestBackupsKeepWithinTheirBudget writes backups of a growing registry
// and prunes them to a small byte budget: the oldest go first, what is
// kept fits the budget, and the newest (the one the last action's undo
// needs) is kept even when it alone is over it.
func TestBackupsKeepWithinTheirBudget(t *testing.T) {
	path := newRegistry(t, sampleRegistry)
	s := newStore(t)
	canon := must(resolve(path))
	base := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	write := func(i, size int) string {
		t.Helper()
		data := []byte(`{"pad": "` + strings.Repeat("x", size-12) + `"}`)
		p, err := s.writeBackup(canon, data, HashBytes(data), base.Add(time.Duration(i)*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	var paths []string
	for i := range 6 {
		paths = append(paths, write(i, 1000+i))
	}
	dir := s.backupDir(canon)
	pruneBackupsTo(dir, keepBackups, 3100)
	got := backupPathsOf(t, s, path)
	want := []string{paths[5], paths[4], paths[3]} // 1005+1004+1003 <= 3100
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got backups\n%s\nwant the three newest\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	big := write(10, 5000)
	pruneBackupsTo(dir, keepBackups, 3100)
	if got := backupPathsOf(t, s, path); len(got) != 1 || got[0] != big {
		t.Errorf("got backups %v, want only the newest, over the budget alone: %s", got, big)
	}
}

func backupPathsOf(t *testing.T, s *Store, path string) []string {
	t.Helper()
	bs, err := s.Backups(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, b := range bs {
		out = append(out, b.Path)
	}
	return out
}
