package registry

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// discoverCwd is the current directory of every Discover case, relative to
// the case's temporary root. It is deep enough that the five parents
// discovery climbs all stay inside the root, so no case looks outside it.
const discoverCwd = "top/a/b/c/d/proj"

const (
	discoverHome   = "home"
	discoverGlobal = "registry/GLOBAL_REGISTRY.json"
	discoverTask   = "TASK-20251017-215604-df6a3cbd/AGENT_REGISTRY.json"
)

// discoverTree describes a tree to build under a temporary root.
type discoverTree struct {
	files    []string          // regular files, relative to the root
	dirs     []string          // empty directories, relative to the root
	symlinks map[string]string // link (relative to the root) -> target (relative to the root)
}

// build creates the tree under a new temporary root and returns the root,
// with symbolic links in its own path resolved so that paths compare plainly.
func (tr discoverTree) build(t *testing.T) string {
	t.Helper()
	root, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range append([]string{discoverCwd, discoverHome}, tr.dirs...) {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range tr.files {
		p := filepath.Join(root, f)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("{}"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for link, target := range tr.symlinks {
		p := filepath.Join(root, link)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(filepath.Join(root, target), p); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// discoverRootRel turns a path under root into a relative one for messages,
// so that "got …, want …" lines read without the temporary prefix.
func discoverRootRel(root string, bases []Base) []Base {
	out := make([]Base, len(bases))
	for i, b := range bases {
		rel, err := filepath.Rel(root, b.Dir)
		if err != nil {
			rel = b.Dir
		}
		out[i] = Base{Dir: rel, Source: b.Source}
	}
	return out
}

func TestDiscover(t *testing.T) {
	const envSrc = "$CLAUDE_ORCHESTRATOR_WORKSPACE"
	const envCwdSrc = "$CLAUDE_ORCHESTRATOR_WORKSPACE (with ${workspaceFolder} = cwd)"
	proj := discoverCwd
	cases := []struct {
		name     string
		tree     discoverTree
		env      string // "{root}" is replaced by the case's root
		explicit []string
		noHome   bool
		want     []Base // Dir relative to the root
	}{
		{
			name: "cwd .agent-workspace with a global registry",
			tree: discoverTree{files: []string{proj + "/.agent-workspace/" + discoverGlobal}},
			want: []Base{{proj + "/.agent-workspace", "./.agent-workspace"}},
		},
		{
			name: "cwd .agent-workspace with only a task registry",
			tree: discoverTree{files: []string{proj + "/.agent-workspace/" + discoverTask}},
			want: []Base{{proj + "/.agent-workspace", "./.agent-workspace"}},
		},
		{
			name: "env absolute",
			tree: discoverTree{files: []string{"elsewhere/ws/" + discoverGlobal}},
			env:  "{root}/elsewhere/ws",
			want: []Base{{"elsewhere/ws", envSrc}},
		},
		{
			name: "env relative to cwd",
			tree: discoverTree{files: []string{proj + "/sub/ws/" + discoverTask}},
			env:  "sub/ws",
			want: []Base{{proj + "/sub/ws", envSrc}},
		},
		{
			name: "env with ~/ expands to home",
			tree: discoverTree{files: []string{discoverHome + "/ws/" + discoverGlobal}},
			env:  "~/ws",
			want: []Base{{discoverHome + "/ws", envSrc}},
		},
		{
			name: "env naming no base falls through to the other rules",
			tree: discoverTree{
				files: []string{proj + "/.agent-workspace/" + discoverGlobal},
				dirs:  []string{"empty-ws"},
			},
			env:  "{root}/empty-ws",
			want: []Base{{proj + "/.agent-workspace", "./.agent-workspace"}},
		},
		{
			name: "env literal ${workspaceFolder}: both interpretations, literal first",
			tree: discoverTree{files: []string{
				proj + "/${workspaceFolder}/.agent-workspace/" + discoverGlobal,
				proj + "/.agent-workspace/" + discoverTask,
			}},
			env: "${workspaceFolder}/.agent-workspace",
			want: []Base{
				{proj + "/${workspaceFolder}/.agent-workspace", envSrc},
				{proj + "/.agent-workspace", envCwdSrc},
			},
		},
		{
			name: "env literal ${workspaceFolder}: only the literal directory exists",
			tree: discoverTree{files: []string{proj + "/${workspaceFolder}/.agent-workspace/" + discoverGlobal}},
			env:  "${workspaceFolder}/.agent-workspace",
			want: []Base{{proj + "/${workspaceFolder}/.agent-workspace", envSrc}},
		},
		{
			name: "env literal ${workspaceFolder}: only the expanded directory exists",
			tree: discoverTree{files: []string{proj + "/.agent-workspace/" + discoverGlobal}},
			env:  "${workspaceFolder}/.agent-workspace",
			want: []Base{{proj + "/.agent-workspace", envCwdSrc}},
		},
		{
			name: "real directory named ${workspaceFolder} without env",
			tree: discoverTree{files: []string{proj + "/${workspaceFolder}/.agent-workspace/" + discoverTask}},
			want: []Base{{proj + "/${workspaceFolder}/.agent-workspace", "./${workspaceFolder}/.agent-workspace"}},
		},
		{
			name: "parent one up",
			tree: discoverTree{files: []string{"top/a/b/c/d/.agent-workspace/" + discoverGlobal}},
			want: []Base{{"top/a/b/c/d/.agent-workspace", "../.agent-workspace"}},
		},
		{
			name: "parent five up is found",
			tree: discoverTree{files: []string{"top/.agent-workspace/" + discoverGlobal}},
			want: []Base{{"top/.agent-workspace", "../../../../../.agent-workspace"}},
		},
		{
			name: "cwd and every parent, nearest first",
			tree: discoverTree{files: []string{
				"top/.agent-workspace/" + discoverGlobal,
				"top/a/b/.agent-workspace/" + discoverTask,
				proj + "/.agent-workspace/" + discoverGlobal,
			}},
			want: []Base{
				{proj + "/.agent-workspace", "./.agent-workspace"},
				{"top/a/b/.agent-workspace", "../../../.agent-workspace"},
				{"top/.agent-workspace", "../../../../../.agent-workspace"},
			},
		},
		{
			name: "home workspaces sorted, then ~/.agent-workspace",
			tree: discoverTree{
				files: []string{
					discoverHome + "/.claude-orchestrator/workspaces/zeta/" + discoverGlobal,
					discoverHome + "/.claude-orchestrator/workspaces/alpha/" + discoverTask,
					discoverHome + "/.claude-orchestrator/workspaces/notes.txt",
					discoverHome + "/.agent-workspace/" + discoverGlobal,
				},
				dirs: []string{discoverHome + "/.claude-orchestrator/workspaces/empty"},
			},
			want: []Base{
				{discoverHome + "/.claude-orchestrator/workspaces/alpha", "~/.claude-orchestrator/workspaces/alpha"},
				{discoverHome + "/.claude-orchestrator/workspaces/zeta", "~/.claude-orchestrator/workspaces/zeta"},
				{discoverHome + "/.agent-workspace", "~/.agent-workspace"},
			},
		},
		{
			name: "home workspace reached through a symlinked directory",
			tree: discoverTree{
				files:    []string{"store/ws/" + discoverGlobal},
				symlinks: map[string]string{discoverHome + "/.claude-orchestrator/workspaces/linked": "store/ws"},
			},
			want: []Base{{discoverHome + "/.claude-orchestrator/workspaces/linked", "~/.claude-orchestrator/workspaces/linked"}},
		},
		{
			name:   "no home: home locations are skipped",
			tree:   discoverTree{files: []string{proj + "/.agent-workspace/" + discoverGlobal, discoverHome + "/.agent-workspace/" + discoverGlobal}},
			noHome: true,
			want:   []Base{{proj + "/.agent-workspace", "./.agent-workspace"}},
		},
		{
			name: "every rule in order",
			tree: discoverTree{files: []string{
				"envws/" + discoverGlobal,
				proj + "/.agent-workspace/" + discoverGlobal,
				"top/a/b/c/d/.agent-workspace/" + discoverGlobal,
				proj + "/${workspaceFolder}/.agent-workspace/" + discoverGlobal,
				discoverHome + "/.claude-orchestrator/workspaces/w1/" + discoverGlobal,
				discoverHome + "/.agent-workspace/" + discoverGlobal,
			}},
			env: "{root}/envws",
			want: []Base{
				{"envws", envSrc},
				{proj + "/.agent-workspace", "./.agent-workspace"},
				{"top/a/b/c/d/.agent-workspace", "../.agent-workspace"},
				{proj + "/${workspaceFolder}/.agent-workspace", "./${workspaceFolder}/.agent-workspace"},
				{discoverHome + "/.claude-orchestrator/workspaces/w1", "~/.claude-orchestrator/workspaces/w1"},
				{discoverHome + "/.agent-workspace", "~/.agent-workspace"},
			},
		},
		{
			name: "dedupe: ~/.agent-workspace is a symlink to cwd's",
			tree: discoverTree{
				files:    []string{proj + "/.agent-workspace/" + discoverGlobal},
				symlinks: map[string]string{discoverHome + "/.agent-workspace": proj + "/.agent-workspace"},
			},
			want: []Base{{proj + "/.agent-workspace", "./.agent-workspace"}},
		},
		{
			name: "dedupe: env names a symlink, first finding kept as found",
			tree: discoverTree{
				files:    []string{proj + "/.agent-workspace/" + discoverGlobal},
				symlinks: map[string]string{"link": proj + "/.agent-workspace"},
			},
			env:  "{root}/link",
			want: []Base{{"link", envSrc}},
		},
		{
			name: "dedupe: same directory by env and by ./.agent-workspace",
			tree: discoverTree{files: []string{proj + "/.agent-workspace/" + discoverGlobal}},
			env:  ".agent-workspace",
			want: []Base{{proj + "/.agent-workspace", envSrc}},
		},
		{
			name: "explicit replaces discovery, env ignored",
			tree: discoverTree{files: []string{
				"envws/" + discoverGlobal,
				proj + "/.agent-workspace/" + discoverGlobal,
				"mine/" + discoverTask,
			}},
			env:      "{root}/envws",
			explicit: []string{"{root}/mine"},
			want:     []Base{{"mine", "--workspace"}},
		},
		{
			name:     "explicit relative to cwd",
			tree:     discoverTree{files: []string{proj + "/ws/" + discoverGlobal}},
			explicit: []string{"ws"},
			want:     []Base{{proj + "/ws", "--workspace"}},
		},
		{
			name:     "explicit with ~/",
			tree:     discoverTree{files: []string{discoverHome + "/ws/" + discoverGlobal}},
			explicit: []string{"~/ws"},
			want:     []Base{{discoverHome + "/ws", "--workspace"}},
		},
		{
			name:     "explicit project directory uses its .agent-workspace",
			tree:     discoverTree{files: []string{"repo/.agent-workspace/" + discoverTask}},
			explicit: []string{"{root}/repo"},
			want:     []Base{{"repo/.agent-workspace", "--workspace (its .agent-workspace)"}},
		},
		{
			name: "explicit repeated, kept in order, duplicates dropped",
			tree: discoverTree{
				files:    []string{"one/" + discoverGlobal, "two/" + discoverGlobal},
				symlinks: map[string]string{"one-link": "one"},
			},
			explicit: []string{"{root}/two", "{root}/one", "{root}/one-link", "{root}/two"},
			want:     []Base{{"two", "--workspace"}, {"one", "--workspace"}},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			root := tc.tree.build(t)
			opts := DiscoverOptions{
				Env:  strings.ReplaceAll(tc.env, "{root}", root),
				Cwd:  filepath.Join(root, discoverCwd),
				Home: filepath.Join(root, discoverHome),
			}
			if tc.noHome {
				opts.Home = ""
			}
			for _, e := range tc.explicit {
				opts.Explicit = append(opts.Explicit, strings.ReplaceAll(e, "{root}", root))
			}
			got, err := Discover(context.Background(), opts)
			if err != nil {
				t.Fatalf("got error %v, want none", err)
			}
			for _, b := range got {
				if !filepath.IsAbs(b.Dir) || filepath.Clean(b.Dir) != b.Dir {
					t.Errorf("got Dir %q, want it absolute and clean", b.Dir)
				}
			}
			if rel := discoverRootRel(root, got); !slices.Equal(rel, tc.want) {
				t.Errorf("got %v, want %v", rel, tc.want)
			}
		})
	}
}

func TestDiscoverNotFound(t *testing.T) {
	proj := discoverCwd
	parents := []string{
		proj + "/.agent-workspace",
		"top/a/b/c/d/.agent-workspace",
		"top/a/b/c/.agent-workspace",
		"top/a/b/.agent-workspace",
		"top/a/.agent-workspace",
		"top/.agent-workspace",
	}
	cases := []struct {
		name      string
		tree      discoverTree
		env       string
		wantTried []string // relative to the root
	}{
		{
			name: "nothing anywhere",
			wantTried: slices.Concat(parents, []string{
				proj + "/${workspaceFolder}/.agent-workspace",
				discoverHome + "/.claude-orchestrator/workspaces",
				discoverHome + "/.claude-orchestrator/workspaces/*",
				discoverHome + "/.agent-workspace",
			}),
		},
		{
			name: "base six parents up is not found",
			tree: discoverTree{files: []string{".agent-workspace/" + discoverGlobal}},
			wantTried: slices.Concat(parents, []string{
				proj + "/${workspaceFolder}/.agent-workspace",
				discoverHome + "/.claude-orchestrator/workspaces",
				discoverHome + "/.claude-orchestrator/workspaces/*",
				discoverHome + "/.agent-workspace",
			}),
		},
		{
			name: "env literal ${workspaceFolder}, directories without registries",
			tree: discoverTree{
				files: []string{
					proj + "/.agent-workspace/TASK-2025-bad/" + taskRegistryName,
					proj + "/.agent-workspace/notes.json",
				},
				dirs: []string{
					proj + "/${workspaceFolder}/.agent-workspace/registry",
					discoverHome + "/.claude-orchestrator/workspaces/b",
					discoverHome + "/.claude-orchestrator/workspaces/a",
				},
			},
			env: "${workspaceFolder}/.agent-workspace",
			wantTried: slices.Concat(
				[]string{proj + "/${workspaceFolder}/.agent-workspace"},
				parents,
				[]string{
					discoverHome + "/.claude-orchestrator/workspaces",
					discoverHome + "/.claude-orchestrator/workspaces/a",
					discoverHome + "/.claude-orchestrator/workspaces/b",
					discoverHome + "/.agent-workspace",
				}),
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			root := tc.tree.build(t)
			opts := DiscoverOptions{
				Env:  tc.env,
				Cwd:  filepath.Join(root, discoverCwd),
				Home: filepath.Join(root, discoverHome),
			}
			got, err := Discover(context.Background(), opts)
			if err == nil {
				t.Fatalf("got bases %v, want a not-found error", discoverRootRel(root, got))
			}
			var nf *NotFoundError
			if !errors.As(err, &nf) {
				t.Fatalf("got error %T %v, want a *NotFoundError", err, err)
			}
			var tried []string
			for _, p := range nf.Tried {
				rel, _ := filepath.Rel(root, p)
				tried = append(tried, rel)
			}
			if !slices.Equal(tried, tc.wantTried) {
				t.Errorf("got tried\n  %s\nwant\n  %s", strings.Join(tried, "\n  "), strings.Join(tc.wantTried, "\n  "))
			}
			msg := err.Error()
			for _, want := range append(slices.Clone(nf.Tried), "discover workspaces: ", "--workspace DIR", "agentwatch demo") {
				if !strings.Contains(msg, want) {
					t.Errorf("got message %q, want it to contain %q", msg, want)
				}
			}
		})
	}
}

func TestDiscoverExplicitErrors(t *testing.T) {
	tree := discoverTree{
		files: []string{
			"plain-file",
			"nothing/TASK-2025-bad/" + taskRegistryName,
			"nothing/.agent-workspace/README",
			"good/" + discoverGlobal,
		},
		dirs: []string{"empty"},
	}
	root := tree.build(t)
	cases := []struct {
		name      string
		explicit  []string
		noHome    bool
		wantIn    []string // substrings of the message; "{root}" is replaced
		wantNotEx bool     // errors.Is(err, fs.ErrNotExist)
	}{
		{
			name:      "does not exist",
			explicit:  []string{"{root}/missing"},
			wantIn:    []string{"discover workspaces: ", "--workspace {root}/missing does not exist"},
			wantNotEx: true,
		},
		{
			name:      "relative and missing names both forms",
			explicit:  []string{"missing"},
			wantIn:    []string{"--workspace missing ({root}/" + discoverCwd + "/missing) does not exist"},
			wantNotEx: true,
		},
		{
			name:     "a file, not a directory",
			explicit: []string{"{root}/plain-file"},
			wantIn:   []string{"--workspace {root}/plain-file is not a directory"},
		},
		{
			name:     "empty directory",
			explicit: []string{"{root}/empty"},
			wantIn: []string{
				"discover workspaces: {root}/empty holds no registry/GLOBAL_REGISTRY.json and no TASK-*/AGENT_REGISTRY.json",
				"agentwatch demo",
			},
		},
		{
			name:     "only non-matching task directories and a registry-less .agent-workspace",
			explicit: []string{"{root}/nothing"},
			wantIn:   []string{"{root}/nothing holds no registry/GLOBAL_REGISTRY.json"},
		},
		{
			name:      "one bad among good ones fails the whole call",
			explicit:  []string{"{root}/good", "{root}/missing"},
			wantIn:    []string{"--workspace {root}/missing does not exist"},
			wantNotEx: true,
		},
		{
			name:     "~ without a home",
			explicit: []string{"~/ws"},
			noHome:   true,
			wantIn:   []string{"--workspace ~/ws: no home directory"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			opts := DiscoverOptions{
				Explicit: tc.explicit,
				Env:      filepath.Join(root, "good"), // must be ignored
				Cwd:      filepath.Join(root, discoverCwd),
				Home:     filepath.Join(root, discoverHome),
			}
			for i, e := range opts.Explicit {
				opts.Explicit[i] = strings.ReplaceAll(e, "{root}", root)
			}
			if tc.noHome {
				opts.Home = ""
			}
			got, err := Discover(context.Background(), opts)
			if err == nil {
				t.Fatalf("got bases %v, want an error", discoverRootRel(root, got))
			}
			for _, w := range tc.wantIn {
				w = strings.ReplaceAll(w, "{root}", root)
				if !strings.Contains(err.Error(), w) {
					t.Errorf("got error %q, want it to contain %q", err, w)
				}
			}
			if got := errors.Is(err, fs.ErrNotExist); got != tc.wantNotEx {
				t.Errorf("got errors.Is(err, fs.ErrNotExist) = %v, want %v", got, tc.wantNotEx)
			}
			var nf *NotFoundError
			if errors.As(err, &nf) {
				t.Errorf("got a *NotFoundError, want explicit errors to be their own")
			}
		})
	}
}

func TestDiscoverCanceled(t *testing.T) {
	root := discoverTree{files: []string{discoverCwd + "/.agent-workspace/" + discoverGlobal}}.build(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	cases := []struct {
		name string
		run  func() error
	}{
		{"Discover", func() error {
			_, err := Discover(ctx, DiscoverOptions{Cwd: filepath.Join(root, discoverCwd), Home: filepath.Join(root, discoverHome)})
			return err
		}},
		{"Discover explicit", func() error {
			_, err := Discover(ctx, DiscoverOptions{Explicit: []string{filepath.Join(root, discoverCwd, ".agent-workspace")}})
			return err
		}},
		{"Files", func() error {
			_, err := Files(ctx, filepath.Join(root, discoverCwd, ".agent-workspace"))
			return err
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.run(); !errors.Is(err, context.Canceled) {
				t.Errorf("got error %v, want context.Canceled", err)
			}
		})
	}
}

func TestDiscoverFiles(t *testing.T) {
	const (
		taskA = "TASK-20251017-213512-5169d812"
		taskB = "TASK-20251017-215604-df6a3cbd"
		taskC = "TASK-20251018-212410-ec53cbb6"
	)
	cases := []struct {
		name string
		tree discoverTree
		want []File // Path and Base relative to the base
	}{
		{
			name: "global then tasks sorted by name",
			tree: discoverTree{files: []string{
				"ws/" + taskC + "/" + taskRegistryName,
				"ws/" + discoverGlobal,
				"ws/" + taskA + "/" + taskRegistryName,
				"ws/" + taskB + "/" + taskRegistryName,
			}},
			want: []File{
				{Path: discoverGlobal, Kind: FileGlobal},
				{Path: taskA + "/" + taskRegistryName, Kind: FileTask, TaskID: taskA},
				{Path: taskB + "/" + taskRegistryName, Kind: FileTask, TaskID: taskB},
				{Path: taskC + "/" + taskRegistryName, Kind: FileTask, TaskID: taskC},
			},
		},
		{
			name: "tasks only",
			tree: discoverTree{files: []string{"ws/" + taskB + "/" + taskRegistryName}},
			want: []File{{Path: taskB + "/" + taskRegistryName, Kind: FileTask, TaskID: taskB}},
		},
		{
			name: "non-matching names are ignored",
			tree: discoverTree{
				files: []string{
					"ws/" + taskA + "/" + taskRegistryName,
					"ws/TASK-2025-bad/" + taskRegistryName,
					"ws/TASK-20251017-215604-df6a3cbX/" + taskRegistryName,
					"ws/TASK-20251017-215604-df6a3cbg/" + taskRegistryName,
					"ws/TASK-20251017-215604-df6a3cb/" + taskRegistryName,
					"ws/TASK-20251017-215604-df6a3cbd0/" + taskRegistryName,
					"ws/TASK-20251017-215604-DF6A3CBD/" + taskRegistryName,
					"ws/TASK-2025101-2215604-df6a3cbd/" + taskRegistryName,
					"ws/task-20251017-215604-df6a3cbd/" + taskRegistryName,
					"ws/TASK-20251017-215604-df6a3cbd.bak/" + taskRegistryName,
					"ws/" + taskRegistryName,
					"ws/GLOBAL_REGISTRY.json",
				},
			},
			want: []File{{Path: taskA + "/" + taskRegistryName, Kind: FileTask, TaskID: taskA}},
		},
		{
			name: "task directory without a registry, a file named like a task, a registry that is a directory",
			tree: discoverTree{
				files: []string{"ws/" + taskC, "ws/" + taskB + "/logs/x_stream.jsonl"},
				dirs:  []string{"ws/" + taskA + "/" + taskRegistryName, "ws/" + discoverGlobal},
			},
			// A directory in a registry's place is listed, to be reported.
			want: []File{
				{Path: "registry/" + globalRegistryName, Kind: FileGlobal, Err: ErrNotRegular},
				{Path: taskA + "/" + taskRegistryName, Kind: FileTask, TaskID: taskA, Err: ErrNotRegular},
			},
		},
		{
			name: "task directory reached through a symlink",
			tree: discoverTree{
				files:    []string{"elsewhere/" + taskRegistryName},
				symlinks: map[string]string{"ws/" + taskB: "elsewhere"},
			},
			want: []File{{Path: taskB + "/" + taskRegistryName, Kind: FileTask, TaskID: taskB}},
		},
		{
			name: "empty base",
			tree: discoverTree{dirs: []string{"ws"}},
			want: nil,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			root := tc.tree.build(t)
			base := filepath.Join(root, "ws")
			got, err := Files(context.Background(), base+"/")
			if err != nil {
				t.Fatalf("got error %v, want none", err)
			}
			for i, f := range got {
				if errors.Is(f.Err, ErrNotRegular) {
					got[i].Err = ErrNotRegular // its text names the path
				}
			}
			var want []File
			for _, f := range tc.want {
				f.Path = filepath.Join(base, f.Path)
				f.Base = base
				f.Size = regularSize(t, f.Path)
				want = append(want, f)
			}
			if !slices.Equal(got, want) {
				t.Errorf("got %v, want %v", got, want)
			}
		})
	}
}

func TestDiscoverFilesErrors(t *testing.T) {
	root := discoverTree{files: []string{"a-file"}}.build(t)
	cases := []struct {
		name, base string
		wantNotEx  bool
	}{
		{"missing base", filepath.Join(root, "missing"), true},
		{"base is a file", filepath.Join(root, "a-file"), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Files(context.Background(), tc.base)
			if err == nil {
				t.Fatalf("got %v, want an error", got)
			}
			if !strings.HasPrefix(err.Error(), "list registry files: ") {
				t.Errorf("got error %q, want the prefix %q", err, "list registry files: ")
			}
			if got := errors.Is(err, fs.ErrNotExist); got != tc.wantNotEx {
				t.Errorf("got errors.Is(err, fs.ErrNotExist) = %v, want %v", got, tc.wantNotEx)
			}
		})
	}
}

// discoverFixtureRoot is the real orchestrator fixture, relative to this
// package's directory (the module root's testdata/...).
var discoverFixtureRoot = filepath.Join("..", "testdata", "orchestrator-2025-10")

func discoverFixture(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join(discoverFixtureRoot, ".agent-workspace"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("the fixtures are missing from the repository at %s: %v", dir, err)
	}
	return dir
}

func TestDiscoverFilesFixtures(t *testing.T) {
	base := discoverFixture(t)
	got, err := Files(context.Background(), base)
	if err != nil {
		t.Fatalf("got error %v, want none", err)
	}
	want := []File{
		{Path: filepath.Join(base, "registry", "GLOBAL_REGISTRY.json"), Kind: FileGlobal, Base: base},
	}
	for _, id := range []string{
		"TASK-20251017-213512-5169d812",
		"TASK-20251017-215604-df6a3cbd",
		"TASK-20251018-212410-ec53cbb6",
		"TASK-20251018-213115-d9cfa244",
		"TASK-20251018-220858-1d09b188",
	} {
		want = append(want, File{Path: filepath.Join(base, id, "AGENT_REGISTRY.json"), Kind: FileTask, TaskID: id, Base: base})
	}
	for i := range want {
		want[i].Size = regularSize(t, want[i].Path)
	}
	if !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

// regularSize is the size of the regular file at path, 0 for anything else.
func regularSize(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil || !fi.Mode().IsRegular() {
		return 0
	}
	if fi.Size() == 0 {
		t.Fatalf("test data: %s is empty, so its size proves nothing", path)
	}
	return fi.Size()
}

func TestDiscoverFixtures(t *testing.T) {
	base := discoverFixture(t)
	project := filepath.Dir(base)
	home := t.TempDir()
	cases := []struct {
		name string
		opts DiscoverOptions
		want []Base
	}{
		{
			name: "explicit base",
			opts: DiscoverOptions{Explicit: []string{base}, Home: home},
			want: []Base{{base, "--workspace"}},
		},
		{
			name: "explicit project directory",
			opts: DiscoverOptions{Explicit: []string{project}, Home: home},
			want: []Base{{base, "--workspace (its .agent-workspace)"}},
		},
		{
			name: "env literal ${workspaceFolder} with cwd at the project",
			opts: DiscoverOptions{Env: "${workspaceFolder}/.agent-workspace", Cwd: project, Home: home},
			want: []Base{{base, "$CLAUDE_ORCHESTRATOR_WORKSPACE (with ${workspaceFolder} = cwd)"}},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Discover(context.Background(), tc.opts)
			if err != nil {
				t.Fatalf("got error %v, want none", err)
			}
			// Without --workspace, discovery also climbs the fixture's
			// parents, outside this test's control: only the first base is
			// the fixture's to check.
			if len(tc.opts.Explicit) == 0 && len(got) > 0 {
				got = got[:1]
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestDiscoverFileKind(t *testing.T) {
	for kind, want := range map[FileKind]string{FileGlobal: "global", FileTask: "task", FileKind(0): "FileKind(0)"} {
		if got := kind.String(); got != want {
			t.Errorf("got String() %q, want %q", got, want)
		}
	}
}

// A report names a registry by what tells it apart: the global registry
// and the state database of a workspace apart, a task registry by its
// directory.
func TestShortName(t *testing.T) {
	for path, want := range map[string]string{
		"/ws/.agent-workspace/registry/GLOBAL_REGISTRY.json":                     "GLOBAL",
		"/ws/.agent-workspace/registry/state.sqlite3":                            "STATE",
		"/ws/.agent-workspace/TASK-20251017-215604-df6a3cbd/AGENT_REGISTRY.json": "TASK-20251017-215604-df6a3cbd",
	} {
		if got := ShortName(path); got != want {
			t.Errorf("ShortName(%s) = %q, want %q", path, got, want)
		}
	}
}
