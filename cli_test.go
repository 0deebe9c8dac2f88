package main

import (
	"bytes"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

func TestCommandLineErrors(t *testing.T) {
	sandbox(t)
	base := copyFixtures(t)
	empty := t.TempDir()
	t.Chdir(empty)
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantErr  string
	}{
		{"unknown flag", []string{"check", "--bogus"}, 2, "unknown flag: --bogus"},
		{"a mistyped command", []string{"chek"}, 2, `unknown command "chek" for "agentwatch" (did you mean check?); see 'agentwatch --help'`},
		{"no workspace anywhere", []string{"check"}, 2, "agentwatch demo"},
		{"missing --workspace", []string{"check", "--workspace", filepath.Join(empty, "nope")}, 2, "does not exist; point --workspace at"},
		{"repair without a terminal or --yes", append([]string{"repair", "--workspace", base}, liveFlags(t, base)...), 0, ""},
		{"readonly refuses repair", []string{"repair", "--readonly", "--yes", "--workspace", base}, 2, "--readonly"},
		{"readonly refuses undo", []string{"undo", "--readonly"}, 2, "--readonly"},
		{"restore needs --registry", []string{"restore"}, 2, `"registry" not set`},
		{"restore of a missing file", []string{"restore", "--registry", filepath.Join(empty, "x.json"), "--yes"}, 2, "does not exist"},
		{"nothing to undo", []string{"undo", "--yes"}, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := agentwatch(t, tt.args...)
			if r.code != tt.wantCode || !strings.Contains(r.stderr, tt.wantErr) {
				t.Errorf("exit %d, stderr %q; want exit %d and %q", r.code, r.stderr, tt.wantCode, tt.wantErr)
			}
		})
	}
	t.Run("repair with findings and no terminal refuses", func(t *testing.T) {
		tw := filepath.Join(base, taskWorking, "AGENT_REGISTRY.json")
		python(t, `o = load(sys.argv[1]); o['active_count'] = 4; save(sys.argv[1], o)`, tw)
		before, _ := os.ReadFile(tw)
		r := agentwatch(t, append([]string{"repair", "--workspace", base}, liveFlags(t, base)...)...)
		if r.code != 2 || !strings.Contains(r.stderr, "--yes") {
			t.Errorf("exit %d, stderr %q; want 2 and a hint to use --yes", r.code, r.stderr)
		}
		if got, _ := os.ReadFile(tw); !bytes.Equal(got, before) {
			t.Error("repair wrote without confirmation")
		}
	})
}

func TestEverySubcommandOfTheContractExists(t *testing.T) {
	sandbox(t)
	for _, c := range []string{"watch", "check", "repair", "kill", "undo", "restore", "demo", "log", "metrics"} {
		r := agentwatch(t, c, "--help")
		if r.code != 0 || !strings.Contains(r.stdout, "agentwatch "+c) {
			t.Errorf("agentwatch %s --help: exit %d\n%s%s", c, r.code, r.stdout, r.stderr)
		}
	}
	if r := agentwatch(t, "--version"); r.code != 0 || !strings.Contains(r.stdout, "agentwatch") {
		t.Errorf("--version: exit %d %q", r.code, r.stdout)
	}
}

func TestFlagValuesAreChecked(t *testing.T) {
	sandbox(t)
	for _, args := range [][]string{
		{"check", "--grace", "-5s"},
		{"check", "--stale", "0s"},
		{"check", "--active-statuses", "running", "--terminal-statuses", "running"},
		{"log", "-n", "-3"},
		{"metrics", "--interval", "0s"},
		{"watch", "--interval", "0s"},
	} {
		if r := agentwatch(t, args...); r.code != 2 || r.stderr == "" {
			t.Errorf("%v: exit %d, stderr %q; want 2 and a reason", args, r.code, r.stderr)
		}
	}
}

// TestHelpDescribesTheWholeTool: `agentwatch --help` describes, before its
// list of commands, every subcommand and both registry eras.
func TestHelpDescribesTheWholeTool(t *testing.T) {
	sandbox(t)
	r := agentwatch(t, "--help")
	about, _, _ := strings.Cut(r.stdout, "Usage:")
	for _, want := range []string{"watch", "check", "repair", "kill", "undo", "restore", "log", "metrics", "demo",
		"GLOBAL_REGISTRY.json", "AGENT_REGISTRY.json", "state.sqlite3", "tmux", "claude"} {
		if !strings.Contains(about, want) {
			t.Errorf("--help's description does not mention %q:\n%s", want, about)
		}
	}
}

// The README's set-up, followed literally in a clone: its install line
// (`CGO_ENABLED=0 go install .`) puts agentwatch, a static binary, where
// `go env GOPATH`/bin says (here a GOBIN of the test's own, so that nothing
// of the operator's is touched), and with that directory on PATH,
// `agentwatch --version` answers.
func TestInstallPutsAgentwatchOnPath(t *testing.T) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("no go command: %v", err)
	}
	clone := filepath.Join(t.TempDir(), "clone")
	if out, err := exec.Command("git", "clone", "-q", ".", clone).CombinedOutput(); err != nil {
		t.Skipf("not a git checkout to clone (%v): %s", err, out)
	}
	// The README's install line: its variables, then `go install .`.
	readme, err := os.ReadFile(filepath.Join(clone, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	var vars []string
	listed := false
	for line := range strings.Lines(string(readme)) {
		words := strings.Fields(line)
		i := slices.Index(words, "go")
		if i < 0 || len(words) < i+3 || words[i+1] != "install" || words[i+2] != "." {
			continue
		}
		vars, listed = words[:i], true
		break
	}
	if !listed || !slices.Contains(vars, "CGO_ENABLED=0") {
		t.Fatalf("the README's install line is %v go install .; want CGO_ENABLED=0 among its variables", vars)
	}
	bin := t.TempDir()
	install := exec.Command(gobin, "install", ".")
	install.Dir = clone
	install.Env = append(append(os.Environ(), "GOBIN="+bin), vars...)
	if out, err := install.CombinedOutput(); err != nil {
		t.Fatalf("%s go install .: %v\n%s", strings.Join(vars, " "), err, out)
	}
	if runtime.GOOS == "linux" {
		f, err := elf.Open(filepath.Join(bin, "agentwatch"))
		if err != nil {
			t.Fatal(err)
		}
		libs, _ := f.ImportedLibraries()
		for _, p := range f.Progs {
			if p.Type == elf.PT_INTERP {
				libs = append(libs, "an interpreter")
			}
		}
		f.Close()
		if len(libs) > 0 {
			t.Errorf("the installed agentwatch is not static: it loads %v", libs)
		}
	}
	// A shell finds it on the PATH the README sets up.
	version := exec.Command("sh", "-c", "command -v agentwatch && agentwatch --version")
	version.Env = append(os.Environ(), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	raw, err := version.CombinedOutput()
	found, out, _ := strings.Cut(string(raw), "\n")
	if found != filepath.Join(bin, "agentwatch") {
		t.Errorf("the shell found %q, want the installed %s", found, filepath.Join(bin, "agentwatch"))
	}
	if err != nil || !strings.HasPrefix(out, "agentwatch version ") {
		t.Errorf("agentwatch --version from PATH: %v, %q", err, out)
	}
}

// TestScopeSaysEachFlagOnce: the commands a report suggests repeat the
// scope it was given, each value once, in the order given.
func TestScopeSaysEachFlagOnce(t *testing.T) {
	o := &options{workspaces: []string{"/a", "/b b", "/a"}, socketNames: []string{"x", "x"}, socketPaths: []string{"/s", "/t", "/s"}}
	want := ` --workspace /a --workspace '/b b' --tmux-socket x --tmux-socket-path /s --tmux-socket-path /t`
	if got := o.scope(); got != want {
		t.Errorf("scope: %q, want %q", got, want)
	}
}
