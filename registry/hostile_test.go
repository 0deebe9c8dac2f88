//go:build linux

package registry

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"agentwatch/internal/pyscript"
	"agentwatch/registry/pyjson"
)

// nobody is the second user the hostile tests run their attacker as.
const nobody = 65534

// requireRootAndSetpriv skips a test that needs to play a second user.
func requireRootAndSetpriv(t *testing.T) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("the test plays a second user: it must run as root")
	}
	sp, err := exec.LookPath("setpriv")
	if err != nil {
		t.Skip("setpriv not found: the test runs its attacker as uid 65534 through it")
	}
	return sp
}

// hostileWorkspace makes a directory that nobody owns, holding a registry
// that nobody owns, and a root-owned file outside it that nobody can
// reach: the target a planted link points at. It returns the registry's
// path and the target's.
func hostileWorkspace(t *testing.T) (reg, target string) {
	t.Helper()
	top, err := os.MkdirTemp("", "aw-hostile-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(top) })
	if err := os.Chmod(top, 0o755); err != nil {
		t.Fatal(err)
	}
	ws := filepath.Join(top, "ws")
	if err := os.Mkdir(ws, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(ws, nobody, nobody); err != nil {
		t.Fatal(err)
	}
	reg = filepath.Join(ws, "GLOBAL_REGISTRY.json")
	if err := os.WriteFile(reg, []byte(sampleRegistry), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(reg, nobody, nobody); err != nil {
		t.Fatal(err)
	}
	target = filepath.Join(top, "root-owned-target")
	if err := os.WriteFile(target, []byte("root's own file, never to be written by agentwatch\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return reg, target
}

func sha(t *testing.T, path string) [32]byte {
	t.Helper()
	return sha256.Sum256(readFile(t, path))
}

// startAsNobody runs a shell script as uid 65534 and ends it, by PID, when
// the test ends.
func startAsNobody(t *testing.T, setpriv, script string) {
	t.Helper()
	cmd := exec.Command(setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", "sh", "-c", script)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		if err := cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
			t.Logf("kill attacker PID %d: %v", pid, err)
		}
		<-done
		if stderr.Len() > 0 {
			t.Logf("attacker PID %d: %s", pid, stderr.String())
		}
	})
}

// TestNoWriteThroughPlantedJournalLinks runs, as root, the store's writes
// (a repair's Transform, one prepared ahead, restore's and undo's TransformCorrupt,
// a Read that may recover a journal, restore's ReadJournal)
// on a registry in a directory owned by another user, who keeps planting
// the journal's name, and names of its temporary pattern, as symlinks to a
// root-owned file, while a flock'd Python writer edits the registry. The
// target must never change; every call succeeds or says what is wrong.
func TestNoWriteThroughPlantedJournalLinks(t *testing.T) {
	setpriv := requireRootAndSetpriv(t)
	pyscript.Python(t)
	reg, target := hostileWorkspace(t)
	before := sha(t, target)
	jpath := reg + JournalSuffix
	startAsNobody(t, setpriv, fmt.Sprintf(`while :; do
  ln -sfn %[1]s %[2]s
  ln -sfn %[1]s %[2]s.1.tmp
  ln -sfn %[1]s %[2]s.123456789.tmp
  rm -f %[2]s
done`, target, jpath))
	waitFor(t, "the planted journal link", func() bool {
		fi, err := os.Lstat(jpath)
		return err == nil && fi.Mode()&os.ModeSymlink != 0
	})
	pyscript.Start(t, "increment.py", reg, "1000000", "python_edits", "0.002")

	s := newStore(t)
	ctx := context.Background()
	calls := []struct {
		name string
		run  func(i int) error
	}{
		{"repair", func(i int) error {
			_, err := s.Transform(ctx, reg, setKey("aw_repair", int64(i)))
			return err
		}},
		{"repair ahead", func(i int) error {
			prep, err := s.Read(ctx, reg)
			if err != nil {
				return err
			}
			prep.Root.Set("aw_ahead", pyjson.NewInt(int64(i)))
			ahead := pyjson.EncodeSpliced(prep.Root, prep.Data)
			prep2, err := s.Read(ctx, reg)
			if err != nil {
				return err
			}
			p := &Prepared{Read: prep2, Next: ahead}
			_, err = s.TransformPrepared(ctx, reg, p, func(cur *Snapshot) (Change, error) {
				cur.Root.Set("aw_ahead", pyjson.NewInt(int64(i)))
				return WriteSpliced(pyjson.EncodeSpliced(cur.Root, cur.Data)), nil
			})
			return err
		}},
		{"restore and undo", func(i int) error {
			_, err := s.TransformCorrupt(ctx, reg, func(cur *Snapshot) (Change, error) {
				root, err := pyjson.Parse(cur.Data)
				if err != nil {
					return Write([]byte(sampleRegistry)), nil
				}
				root.Set("aw_restore", pyjson.NewInt(int64(i)))
				return Write(pyjson.Encode(root)), nil
			})
			return err
		}},
		{"read", func(int) error {
			_, err := s.Read(ctx, reg)
			return err
		}},
		{"restore preview", func(int) error {
			_, err := ReadJournal(ctx, reg)
			if errors.Is(err, os.ErrNotExist) {
				return nil
			}
			return err
		}},
	}
	succeeded := map[string]int{}
	for i := range 10 {
		for _, c := range calls {
			err := c.run(i)
			if got := sha(t, target); got != before {
				t.Fatalf("run %d, %s: the root-owned target was written through a planted link (%q)", i, c.name, readFile(t, target))
			}
			switch {
			case err == nil:
				succeeded[c.name]++
			case errors.Is(err, ErrForeignFile):
				if !strings.Contains(err.Error(), "not agentwatch's") || !strings.Contains(err.Error(), "remove it") {
					t.Errorf("run %d, %s: got error %q, want it to say the file is not agentwatch's and what to do", i, c.name, err)
				}
			default:
				t.Errorf("run %d, %s: got error %v, want success or ErrForeignFile", i, c.name, err)
			}
		}
	}
	t.Logf("calls that succeeded beside the attacker: %v", succeeded)
	if _, err := pyjson.Parse(readFile(t, reg)); err != nil {
		t.Errorf("the registry does not parse after the runs: %v", err)
	}
}

// TestPlantedJournalIsNotUsed puts, beside a registry, in place of its
// journal, a symlink to a valid journal, and a valid journal owned by a
// third user: recovery reads neither (it would finish agentwatch's write
// with their bytes) and says so; once the entry is gone, work resumes.
func TestPlantedJournalIsNotUsed(t *testing.T) {
	old, next := crashContent(t, "grow")
	cases := []struct {
		name  string
		plant func(t *testing.T, jpath, real string)
	}{
		{"symlink", func(t *testing.T, jpath, real string) {
			if err := os.Symlink(real, jpath); err != nil {
				t.Fatal(err)
			}
		}},
		{"fifo", func(t *testing.T, jpath, real string) {
			if err := syscall.Mkfifo(jpath, 0o600); err != nil {
				t.Fatal(err)
			}
		}},
		{"another user's file", func(t *testing.T, jpath, real string) {
			if os.Geteuid() != 0 {
				t.Skip("needs root to give the file to another user")
			}
			if err := os.Rename(real, jpath); err != nil {
				t.Fatal(err)
			}
			if err := os.Chown(jpath, 4242, 4242); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := newRegistry(t, string(old))
			s := newStore(t)
			// A journal that would finish a write of next over old.
			real := filepath.Join(t.TempDir(), "journal")
			j := &Journal{Registry: path, OldHash: HashBytes(old), NewHash: HashBytes(next), Data: next}
			if err := os.WriteFile(real, encodeJournal(j), 0o644); err != nil {
				t.Fatal(err)
			}
			torn := append(bytes.Clone(next[:len(next)/2]), old[len(next)/2:]...)
			if err := os.WriteFile(path, torn, 0o644); err != nil {
				t.Fatal(err)
			}
			if _, err := s.writeBackup(path, old, HashBytes(old), time.Now()); err != nil {
				t.Fatal(err)
			}
			tc.plant(t, path+JournalSuffix, real)

			_, err := s.TransformCorrupt(context.Background(), path, func(*Snapshot) (Change, error) { return Keep(), nil })
			if !errors.Is(err, ErrForeignFile) || !strings.Contains(err.Error(), path+JournalSuffix) {
				t.Errorf("Update: got %v, want ErrForeignFile naming the journal", err)
			}
			if _, err := ReadJournal(context.Background(), path); !errors.Is(err, ErrForeignFile) {
				t.Errorf("ReadJournal: got %v, want ErrForeignFile", err)
			}
			if got := readFile(t, path); !bytes.Equal(got, torn) {
				t.Errorf("the registry was written from a journal agentwatch did not write")
			}
			if err := os.Remove(path + JournalSuffix); err != nil {
				t.Fatal(err)
			}
			if _, err := s.TransformCorrupt(context.Background(), path, func(*Snapshot) (Change, error) { return Write(old), nil }); err != nil {
				t.Errorf("Update once the planted entry is gone: %v", err)
			}
		})
	}
}

// TestWriteJournalRefusesAPlantedLink plants a symlink at the journal's
// name after recovery, where the transaction writes its journal: the
// write refuses, and the link's target is untouched.
func TestWriteJournalRefusesAPlantedLink(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "target")
	if err := os.WriteFile(target, []byte("precious"), 0o644); err != nil {
		t.Fatal(err)
	}
	jpath := filepath.Join(dir, "REG"+JournalSuffix)
	if err := os.Symlink(target, jpath); err != nil {
		t.Fatal(err)
	}
	err := writeJournal(&Journal{Path: jpath, Registry: filepath.Join(dir, "REG"), OldHash: HashBytes(nil), NewHash: HashBytes([]byte("{}"))}, pyjson.SplicedOf([]byte("{}")), 0o644, os.Geteuid())
	if !errors.Is(err, ErrForeignFile) {
		t.Errorf("got %v, want ErrForeignFile", err)
	}
	if got := readFile(t, target); string(got) != "precious" {
		t.Errorf("the link's target was written: %q", got)
	}
}

// TestStateDirRefusesLinksAndOtherOwners plants a symlink where the
// registry's backup directory, or the state directory itself, belongs,
// and gives the state directory to another user: no backup is written
// there, and the transaction says why.
func TestStateDirRefusesLinksAndOtherOwners(t *testing.T) {
	cases := []struct {
		name  string
		plant func(t *testing.T, s *Store, path, elsewhere string)
	}{
		{"backup directory is a link", func(t *testing.T, s *Store, path, elsewhere string) {
			canon := must(resolve(path))
			if err := os.MkdirAll(filepath.Join(s.StateDir, "backups"), 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(elsewhere, s.backupDir(canon)); err != nil {
				t.Fatal(err)
			}
		}},
		{"backups is a link", func(t *testing.T, s *Store, path, elsewhere string) {
			if err := os.Symlink(elsewhere, filepath.Join(s.StateDir, "backups")); err != nil {
				t.Fatal(err)
			}
		}},
		{"state directory is a link", func(t *testing.T, s *Store, path, elsewhere string) {
			link := filepath.Join(t.TempDir(), "state")
			if err := os.Symlink(elsewhere, link); err != nil {
				t.Fatal(err)
			}
			s.StateDir = link
		}},
		{"state directory owned by another user", func(t *testing.T, s *Store, path, elsewhere string) {
			if os.Geteuid() != 0 {
				t.Skip("needs root to give the directory to another user")
			}
			s.StateDir = elsewhere
			if err := os.Chown(elsewhere, nobody, nobody); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := newRegistry(t, sampleRegistry)
			s := newStore(t)
			elsewhere := t.TempDir()
			tc.plant(t, s, path, elsewhere)
			_, err := s.Transform(context.Background(), path, setKey("a", 1))
			if !errors.Is(err, ErrForeignFile) || !strings.Contains(err.Error(), "state directory") {
				t.Errorf("got %v, want ErrForeignFile about the state directory", err)
			}
			var found []string
			filepath.Walk(elsewhere, func(p string, fi os.FileInfo, err error) error {
				if err == nil && !fi.IsDir() {
					found = append(found, p)
				}
				return nil
			})
			if len(found) != 0 {
				t.Errorf("files were written through the planted entry: %v", found)
			}
			if got := readFile(t, path); string(got) != sampleRegistry {
				t.Errorf("the registry was changed without its backup")
			}
		})
	}
}
