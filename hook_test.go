package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"agentwatch/registry/pyjson"
)

// buildAgentwatch builds the shipped binary, as an operator runs it, into a
// directory of the test's own. Call it before sandbox, whose new HOME would
// send go to an empty build cache.
func buildAgentwatch(t *testing.T) string {
	t.Helper()
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("no go command to build agentwatch with: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "agentwatch")
	out, err := exec.Command(gobin, "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// TestPauseHookIsNotInTheBinary runs the built binary's `repair --yes` on
// two copies of a drifted registry, one of them with the crash tests'
// variable AGENTWATCH_TEST_PAUSE_AT=locked in its environment. Only the test
// binary can set that hook: the shipped one must complete, exit 0 and write
// the same bytes as without it, never stop holding the registry's lock.
func TestPauseHookIsNotInTheBinary(t *testing.T) {
	bin := buildAgentwatch(t) // before sandbox: its HOME would hide the build cache
	sandbox(t)
	repair := func(base string, env ...string) (string, int) {
		t.Helper()
		// A grace longer than the fixtures' age: the working agent is
		// starting, not a ghost, so the repair is the recounts alone and
		// writes no timestamp.
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, bin, "repair", "--yes", "--workspace", base, "--grace", "100000h")
		cmd.Env = append(os.Environ(), env...)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		if ctx.Err() != nil {
			t.Fatalf("repair %s with %v did not complete in 60s (killed): %s", base, env, out.String())
		}
		var exit *exec.ExitError
		if err != nil && !errors.As(err, &exit) {
			t.Fatalf("run %s: %v", bin, err)
		}
		return strings.ReplaceAll(out.String(), base, "BASE"), cmd.ProcessState.ExitCode()
	}
	drift := func(base string) {
		python(t, `
base = sys.argv[1]
t = base + '/TASK-20251017-215604-df6a3cbd/AGENT_REGISTRY.json'
o = load(t); o['active_count'] = 15; save(t, o)
g = base + '/registry/GLOBAL_REGISTRY.json'
o = load(g); o['total_agents_spawned'] = 95; save(g, o)
`, base)
	}
	plain, hooked := copyFixtures(t), copyFixtures(t)
	drift(plain)
	drift(hooked)

	wantOut, wantCode := repair(plain)
	gotOut, gotCode := repair(hooked, "AGENTWATCH_TEST_PAUSE_AT=locked", "AGENTWATCH_TEST_PAUSE_MARKER="+filepath.Join(t.TempDir(), "paused"))
	if gotCode != 0 || wantCode != 0 {
		t.Errorf("repair exit: got %d with the variable, %d without it, want 0 and 0\n%s", gotCode, wantCode, gotOut)
	}
	if gotOut != wantOut {
		t.Errorf("repair output with the variable:\n%s\nwant, as without it:\n%s", gotOut, wantOut)
	}
	for _, rel := range []string{
		filepath.Join(taskWorking, "AGENT_REGISTRY.json"),
		filepath.Join("registry", "GLOBAL_REGISTRY.json"),
	} {
		got, err := os.ReadFile(filepath.Join(hooked, rel))
		if err != nil {
			t.Fatal(err)
		}
		want, err := os.ReadFile(filepath.Join(plain, rel))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s with the variable differs from the repair without it", rel)
		}
	}
	// And it did repair: the counters hold the counts.
	for _, c := range []struct {
		rel, field string
		want       int64
	}{
		{filepath.Join(taskWorking, "AGENT_REGISTRY.json"), "active_count", 1},
		{filepath.Join("registry", "GLOBAL_REGISTRY.json"), "total_agents_spawned", 27},
	} {
		data, err := os.ReadFile(filepath.Join(hooked, c.rel))
		if err != nil {
			t.Fatal(err)
		}
		v, err := pyjson.Parse(data)
		if err != nil {
			t.Fatalf("%s: %v", c.rel, err)
		}
		if n, _ := v.Get(c.field).Int(); n != c.want {
			t.Errorf("%s %s = %d after the repair, want %d", c.rel, c.field, n, c.want)
		}
	}
}
