package registry

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// The names a workspace base is made of, and the text operators leave
// unexpanded in $CLAUDE_ORCHESTRATOR_WORKSPACE.
const (
	workspaceDirName    = ".agent-workspace"
	globalRegistryDir   = "registry"
	globalRegistryName  = "GLOBAL_REGISTRY.json"
	taskRegistryName    = "AGENT_REGISTRY.json"
	workspaceFolderVar  = "${workspaceFolder}"
	workspaceEnvSource  = "$CLAUDE_ORCHESTRATOR_WORKSPACE"
	explicitSource      = "--workspace"
	maxWorkspaceParents = 5
)

// Base is one workspace base, with how it was found.
type Base struct {
	// Dir is the base directory, absolute and cleaned, as it was found:
	// symbolic links are not resolved, so it reads as the operator wrote it.
	Dir string
	// Source names the rule that found Dir, e.g. "--workspace",
	// "$CLAUDE_ORCHESTRATOR_WORKSPACE", "./.agent-workspace",
	// "../.agent-workspace", "./${workspaceFolder}/.agent-workspace",
	// "~/.claude-orchestrator/workspaces/NAME" or "~/.agent-workspace".
	Source string
}

// DiscoverOptions are Discover's inputs. The caller reads the flags and the
// environment; discovery itself reads neither, so that it can be tested.
type DiscoverOptions struct {
	// Explicit holds the --workspace values. When it is non-empty it replaces
	// discovery: each value must be a base, or a directory whose
	// .agent-workspace is one.
	Explicit []string
	// Env is the value of $CLAUDE_ORCHESTRATOR_WORKSPACE; "" means unset.
	Env string
	// Cwd is the directory relative paths start from; "" means os.Getwd.
	Cwd string
	// Home is the operator's home directory, for "~/" and the home
	// locations; "" means those are not tried.
	Home string
	// Known are the bases the orchestrator's global index lists
	// (~/.claude-orchestrator/global_registry.sqlite3, known_workspaces):
	// tried after the other rules, in their order.
	Known []string
}

// Discover finds workspace bases in DESIGN §1's order: $CLAUDE_ORCHESTRATOR_WORKSPACE,
// ./.agent-workspace and the same in up to 5 parent directories,
// ./${workspaceFolder}/.agent-workspace, ~/.claude-orchestrator/workspaces/*,
// ~/.agent-workspace. It keeps every one that exists (a directory holding a
// global registry or at least one task registry), de-duplicated by real path
// (symbolic links resolved), in order of first finding. Finding none is a
// *NotFoundError. With opts.Explicit set, only those directories are used,
// and each that is not a base is an error.
func Discover(ctx context.Context, opts DiscoverOptions) ([]Base, error) {
	f, err := newBaseFinder(opts)
	if err != nil {
		return nil, fmt.Errorf("discover workspaces: %w", err)
	}
	if len(opts.Explicit) > 0 {
		for _, dir := range opts.Explicit {
			if err := f.explicit(ctx, dir); err != nil {
				return nil, fmt.Errorf("discover workspaces: %w", err)
			}
		}
		return f.bases, nil
	}
	if err := f.search(ctx, opts.Env, opts.Known); err != nil {
		return nil, fmt.Errorf("discover workspaces: %w", err)
	}
	if len(f.bases) == 0 {
		return nil, fmt.Errorf("discover workspaces: %w", &NotFoundError{Tried: f.tried})
	}
	return f.bases, nil
}

// NotFoundError says that discovery found no workspace base.
type NotFoundError struct {
	// Tried lists every directory that was looked at, absolute, in order.
	Tried []string
}

// Error names every directory tried and suggests --workspace or agentwatch demo.
func (e *NotFoundError) Error() string {
	var b strings.Builder
	b.WriteString("no workspace base found (a directory holding registry/state.sqlite3, registry/GLOBAL_REGISTRY.json or TASK-*/AGENT_REGISTRY.json)")
	if len(e.Tried) == 0 {
		b.WriteString("; nothing was tried.")
	} else {
		b.WriteString("; tried, in order:")
		for _, p := range e.Tried {
			b.WriteString("\n  ")
			b.WriteString(p)
		}
	}
	b.WriteString("\npass --workspace DIR to name one, or run `agentwatch demo` for a sandbox")
	return b.String()
}

// baseFinder carries one Discover call's state: what was tried and what was kept.
type baseFinder struct {
	cwd, home string
	tried     []string
	triedSet  map[string]bool
	bases     []Base
	realSeen  map[string]bool
}

func newBaseFinder(opts DiscoverOptions) (*baseFinder, error) {
	cwd := opts.Cwd
	if cwd == "" {
		wd, err := os.Getwd()
		if err != nil {
			return nil, fmt.Errorf("current directory: %w", err)
		}
		cwd = wd
	}
	cwd, err := filepath.Abs(cwd)
	if err != nil {
		return nil, fmt.Errorf("current directory: %w", err)
	}
	home := opts.Home
	if home != "" {
		if home, err = filepath.Abs(home); err != nil {
			return nil, fmt.Errorf("home directory: %w", err)
		}
	}
	return &baseFinder{cwd: cwd, home: home, triedSet: map[string]bool{}, realSeen: map[string]bool{}}, nil
}

// resolve makes p absolute and clean: "~" and "~/…" start at home, anything
// else relative starts at cwd. It reports false for "~" without a home.
func (f *baseFinder) resolve(p string) (string, bool) {
	if p == "~" || strings.HasPrefix(p, "~/") {
		if f.home == "" {
			return "", false
		}
		return filepath.Join(f.home, p[1:]), true
	}
	if filepath.IsAbs(p) {
		return filepath.Clean(p), true
	}
	return filepath.Join(f.cwd, p), true
}

// search runs discovery's rules in order: the four of DESIGN §1, then the
// bases of the orchestrator's global index.
func (f *baseFinder) search(ctx context.Context, env string, known []string) error {
	// 1. $CLAUDE_ORCHESTRATOR_WORKSPACE, literally and with ${workspaceFolder} = cwd.
	if env != "" {
		if dir, ok := f.resolve(env); ok {
			if err := f.try(ctx, dir, workspaceEnvSource); err != nil {
				return err
			}
		}
		if strings.Contains(env, workspaceFolderVar) {
			expanded := strings.ReplaceAll(env, workspaceFolderVar, f.cwd)
			if dir, ok := f.resolve(expanded); ok {
				if err := f.try(ctx, dir, workspaceEnvSource+" (with "+workspaceFolderVar+" = cwd)"); err != nil {
					return err
				}
			}
		}
	}

	// 2. ./.agent-workspace and the same in up to 5 parents.
	dir := f.cwd
	for up := 0; up <= maxWorkspaceParents; up++ {
		if up > 0 {
			parent := filepath.Dir(dir)
			if parent == dir {
				break
			}
			dir = parent
		}
		source := "./" + workspaceDirName
		if up > 0 {
			source = strings.Repeat("../", up) + workspaceDirName
		}
		if err := f.try(ctx, filepath.Join(dir, workspaceDirName), source); err != nil {
			return err
		}
	}

	// 3. ./${workspaceFolder}/.agent-workspace, a real directory of that name.
	if err := f.try(ctx, filepath.Join(f.cwd, workspaceFolderVar, workspaceDirName),
		"./"+workspaceFolderVar+"/"+workspaceDirName); err != nil {
		return err
	}

	// 4. ~/.claude-orchestrator/workspaces/* and ~/.agent-workspace.
	if f.home == "" {
		return f.known(ctx, known)
	}
	workspaces := filepath.Join(f.home, ".claude-orchestrator", "workspaces")
	// The orchestrator's default base is that directory itself: its task
	// directories and its registry/ live right in it.
	if err := f.try(ctx, workspaces, "~/.claude-orchestrator/workspaces"); err != nil {
		return err
	}
	names := subdirNames(workspaces)
	if len(names) == 0 {
		f.noteTried(filepath.Join(workspaces, "*"))
	}
	for _, name := range names {
		if err := f.try(ctx, filepath.Join(workspaces, name), "~/.claude-orchestrator/workspaces/"+name); err != nil {
			return err
		}
	}
	if err := f.try(ctx, filepath.Join(f.home, workspaceDirName), "~/"+workspaceDirName); err != nil {
		return err
	}
	return f.known(ctx, known)
}

// known tries the bases of the orchestrator's global index.
func (f *baseFinder) known(ctx context.Context, known []string) error {
	for _, dir := range known {
		if !filepath.IsAbs(dir) {
			continue // the index holds absolute paths; anything else is not trusted
		}
		if err := f.try(ctx, filepath.Clean(dir), "~/.claude-orchestrator/global_registry.sqlite3"); err != nil {
			return err
		}
	}
	return nil
}

// subdirNames lists the names of dir's subdirectories (symbolic links to
// directories included), sorted; an unreadable dir has none.
func subdirNames(dir string) []string {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var names []string
	for _, e := range entries {
		if fi, err := os.Stat(filepath.Join(dir, e.Name())); err == nil && fi.IsDir() {
			names = append(names, e.Name())
		}
	}
	return names
}

// noteTried records dir as tried, once; it reports false if it already was.
func (f *baseFinder) noteTried(dir string) bool {
	if f.triedSet[dir] {
		return false
	}
	f.triedSet[dir] = true
	f.tried = append(f.tried, dir)
	return true
}

// try keeps dir if it is a base not already kept. Only a done ctx is an error.
func (f *baseFinder) try(ctx context.Context, dir, source string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if !f.noteTried(dir) {
		return nil
	}
	if isBaseDir(ctx, dir) {
		f.keep(dir, source)
	}
	return ctx.Err()
}

// keep adds dir unless a base with the same real path is already kept.
func (f *baseFinder) keep(dir, source string) {
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		real = dir
	}
	if f.realSeen[real] {
		return
	}
	f.realSeen[real] = true
	f.bases = append(f.bases, Base{Dir: dir, Source: source})
}

// pointAtBase says what --workspace should name.
const pointAtBase = "point --workspace at the orchestrator's workspace (the directory that holds registry/ and the TASK-* directories), " +
	"or run `agentwatch demo` for a sandbox"

// explicit checks one --workspace value and keeps it, or its .agent-workspace.
func (f *baseFinder) explicit(ctx context.Context, raw string) error {
	dir, ok := f.resolve(raw)
	if !ok {
		return fmt.Errorf("--workspace %s: no home directory to expand ~ with", raw)
	}
	shown := dir
	if raw != dir {
		shown = raw + " (" + dir + ")"
	}
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR):
		return &workspaceArgError{msg: "--workspace " + shown + " does not exist; " + pointAtBase, err: err}
	case err != nil:
		return fmt.Errorf("--workspace %s: %w", shown, err)
	case !fi.IsDir():
		return fmt.Errorf("--workspace %s is not a directory; %s", shown, pointAtBase)
	}
	files, err := Files(ctx, dir)
	if err != nil {
		return fmt.Errorf("--workspace %s: %w", shown, err)
	}
	if len(files) > 0 || isBaseDir(ctx, dir) {
		f.keep(dir, explicitSource)
		return nil
	}
	inner := filepath.Join(dir, workspaceDirName)
	if isBaseDir(ctx, inner) {
		f.keep(inner, explicitSource+" (its "+workspaceDirName+")")
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return fmt.Errorf("%s holds no %s/%s and no TASK-*/%s, nor does its %s; "+
		"point --workspace at the directory that holds them, or run `agentwatch demo` for a sandbox",
		shown, globalRegistryDir, globalRegistryName, taskRegistryName, workspaceDirName)
}

// workspaceArgError is an error with its own wording that still unwraps to
// the file-system error behind it (so errors.Is(err, fs.ErrNotExist) holds).
type workspaceArgError struct {
	msg string
	err error
}

func (e *workspaceArgError) Error() string { return e.msg }
func (e *workspaceArgError) Unwrap() error { return e.err }
