package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// agentwatchProcess runs this test binary as agentwatch in a child process
// with no terminal, killed if it runs past limit (a hang is a failure, not
// a stuck test).
func agentwatchProcess(t *testing.T, limit time.Duration, args ...string) (result, time.Duration) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, exe, args...)
	cmd.Env = append(os.Environ(), "AGENTWATCH_TEST_AS_MAIN=1")
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	err = cmd.Run()
	elapsed := time.Since(start)
	if ctx.Err() != nil {
		t.Fatalf("%v did not finish in %s\n%s%s", args, limit, out.String(), errb.String())
	}
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return result{code: code, stdout: out.String(), stderr: errb.String()}, elapsed
}

// TestRestoreRefusesWhatIsNotAFile: a FIFO, a directory or a device given
// as the registry is refused at once with a reason, never opened.
func TestRestoreRefusesWhatIsNotAFile(t *testing.T) {
	sandbox(t)
	dir := t.TempDir()
	fifo := filepath.Join(dir, "AGENT_REGISTRY.json")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ name, path, want string }{
		{"FIFO", fifo, "named pipe"},
		{"directory", dir, "directory"},
		{"device", "/dev/null", "device"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			// A FIFO opened for reading would block forever: the limit is
			// the hang's measure, not a time the refusal must beat.
			r, _ := agentwatchProcess(t, 60*time.Second, "restore", "--registry", tt.path, "--yes")
			if r.code != 2 || !strings.Contains(r.stderr, tt.want) || !strings.Contains(r.stderr, "not a registry file") {
				t.Errorf("exit %d, stderr %q; want 2 and that it is a %s, not a registry file", r.code, r.stderr, tt.want)
			}
		})
	}
}

// TestRestoreSaysPlainlyThatNothingCanMendIt: no journal, no salvage, no
// backup: restore says so in words, without raw system errors.
func TestRestoreSaysPlainlyThatNothingCanMendIt(t *testing.T) {
	state := sandbox(t)
	base := copyFixtures(t)
	path := filepath.Join(base, taskEmpty, "AGENT_REGISTRY.json")
	if err := os.WriteFile(path, []byte(`{"task_id": "TASK-`), 0o644); err != nil {
		t.Fatal(err)
	}
	r := agentwatch(t, "restore", "--registry", path, "--yes")
	if r.code != 2 {
		t.Errorf("exit %d, want 2", r.code)
	}
	want := "no backup of " + path + " exists in " + state + "; nothing to restore from"
	if !strings.Contains(r.stderr, want) {
		t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
	}
	for _, raw := range []string{"no such file or directory", "none of 0", "open /"} {
		if strings.Contains(r.stderr, raw) {
			t.Errorf("stderr holds the raw %q:\n%s", raw, r.stderr)
		}
	}
}

// TestCheckReportsWhatStandsInARegistrysPlace: a FIFO or a directory where
// a registry belongs is an unreadable source, reported at once (exit 2, as
// for a registry that cannot be read: nothing it owns can be judged), not
// skipped as if there were no registry, and never opened.
func TestCheckReportsWhatStandsInARegistrysPlace(t *testing.T) {
	sandbox(t)
	for _, tt := range []struct {
		name, file, want string
		make             func(string) error
	}{
		{"FIFO task registry", filepath.Join(taskEmpty, "AGENT_REGISTRY.json"), "named pipe", func(p string) error { return syscall.Mkfifo(p, 0o644) }},
		{"directory global registry", filepath.Join("registry", "GLOBAL_REGISTRY.json"), "directory", func(p string) error { return os.Mkdir(p, 0o755) }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			base := copyFixtures(t)
			path := filepath.Join(base, tt.file)
			if err := os.Remove(path); err != nil {
				t.Fatal(err)
			}
			if err := tt.make(path); err != nil {
				t.Fatal(err)
			}
			for _, cmd := range []string{"check", "repair"} {
				// A FIFO read would block forever: the limit is the hang's
				// measure, not a time the command must beat.
				args := []string{cmd, "--yes", "--workspace", base, "--tmux-socket-path", "/nonexistent/sock"}
				if cmd == "check" {
					args = slices.Delete(args, 1, 2)
				}
				r, _ := agentwatchProcess(t, 60*time.Second, args...)
				if r.code != 2 || !strings.Contains(r.stderr, path) || !strings.Contains(r.stderr, tt.want) {
					t.Errorf("%s: exit %d, stderr %q; want 2 naming %s as %s", cmd, r.code, r.stderr, path, tt.want)
				}
			}
		})
	}
}

func TestRestoreFromBackup(t *testing.T) {
	sandbox(t)
	base := copyFixtures(t)
	path := filepath.Join(base, taskWorking, "AGENT_REGISTRY.json")
	python(t, `o = load(sys.argv[1]); o['active_count'] = 4; save(sys.argv[1], o)`, path)
	damaged, _ := os.ReadFile(path)
	if r := agentwatch(t, append([]string{"repair", "--yes", "--workspace", base}, liveFlags(t, base)...)...); r.code != 0 {
		t.Fatalf("repair exit %d\n%s", r.code, r.stderr)
	}
	// An unlocked writer dies mid-write: half a file.
	repaired, _ := os.ReadFile(path)
	if err := os.WriteFile(path, repaired[:len(repaired)/3], 0o644); err != nil {
		t.Fatal(err)
	}
	r := agentwatch(t, "restore", "--registry", path, "--yes")
	if r.code != 0 || !strings.Contains(r.stdout, "from backup") {
		t.Fatalf("restore: exit %d, want 0 from a backup\n%s%s", r.code, r.stdout, r.stderr)
	}
	// The newest backup that parses is the one the repair took: the bytes
	// from before the repair.
	if got, _ := os.ReadFile(path); !bytes.Equal(got, damaged) {
		t.Errorf("restored bytes are not the newest parseable backup")
	}
}

func TestRestoreNeverSalvagesANonRegistry(t *testing.T) {
	sandbox(t)
	base := copyFixtures(t)
	path := filepath.Join(base, taskEmpty, "AGENT_REGISTRY.json")
	orig, _ := os.ReadFile(path)
	bad := append([]byte("0"), orig[1:]...) // a lone 0 where the object began
	if err := os.WriteFile(path, bad, 0o644); err != nil {
		t.Fatal(err)
	}
	r := agentwatch(t, "restore", "--registry", path, "--yes")
	if r.code != 2 || !strings.Contains(r.stderr, "not a registry") {
		t.Errorf("restore: exit %d, want 2 saying the salvage is not a registry\n%s%s", r.code, r.stdout, r.stderr)
	}
	if got, _ := os.ReadFile(path); !bytes.Equal(got, bad) {
		t.Error("restore wrote the file")
	}
}
