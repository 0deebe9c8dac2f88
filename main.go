// Command agentwatch watches and repairs the agent orchestrator's registries:
// it reads the registry files that the orchestrator's processes rewrite at
// once, reports what has drifted from reality, and repairs it under the same
// lock the orchestrator uses, journaled and undoable.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/charmbracelet/x/term"
	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"agentwatch/demo"
	"agentwatch/engine"
	"agentwatch/procscan"

	// Before Bubble Tea's init: no command but the TUI queries the terminal.
	_ "agentwatch/quietterm"
	"agentwatch/registry"
	"agentwatch/statedb"
	"agentwatch/termsafe"
	"agentwatch/tmux"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

// Exit codes: the command-line contract.
const (
	exitOK       = 0
	exitFindings = 1 // check: findings; repair, undo: partly failed
	exitError    = 2
	exitLockBusy = 75 // EX_TEMPFAIL: a registry lock stayed busy
)

// exitErr carries an exit code out of a command. A nil err exits quietly.
type exitErr struct {
	code int
	err  error
}

func (e *exitErr) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit %d", e.code)
	}
	return e.err.Error()
}

func (e *exitErr) Unwrap() error { return e.err }

// options are the flags every command takes.
type options struct {
	// stateDir, when set, is where backups and the audit log go instead of
	// the default (the demo keeps its own).
	stateDir    string
	workspaces  []string
	socketNames []string
	socketPaths []string
	grace       time.Duration
	stale       time.Duration
	match       string
	lockTimeout time.Duration
	readonly    bool
	noColor     bool
	active      []string
	terminal    []string
	stdin       io.Reader
	stdout      io.Writer
	stderr      io.Writer
	stdinTTY    bool
}

func main() {
	os.Exit(mainExit())
}

// mainExit is the whole program: the tests run it too, in this binary's
// stead, to drive the real TUI in a tmux pane.
func mainExit() int {
	// The demo runs agentwatch's own binary as its fake claude.
	if demo.IsFake(os.Args[0]) {
		return demo.RunFake(os.Args)
	}
	// SIGHUP too: closing the terminal (or its tmux pane) must tear the
	// demo down as Ctrl-C does, not kill agentwatch before it cleans up.
	// The context's cause names the signal, for the exit code.
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sigs)
	go func() {
		if sig, ok := <-sigs; ok {
			cancel(&signalled{sig.(syscall.Signal)})
		}
	}()
	return run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
}

// signalled is the cause of the context of a command that a signal ended.
type signalled struct{ sig syscall.Signal }

func (s *signalled) Error() string { return "interrupted by " + unix.SignalName(s.sig) }

// signalExit is the shell's exit code for a command that sig ended:
// 128 + its number (130 for Ctrl-C), and 0 when no signal ended ctx.
func signalExit(ctx context.Context) int {
	var s *signalled
	if errors.As(context.Cause(ctx), &s) {
		return 128 + int(s.sig)
	}
	return 0
}

// run executes one command line and returns its exit code.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	opts := &options{stdin: stdin, stdout: stdout, stderr: stderr, stdinTTY: isTTY(stdin)}
	root := newRootCmd(opts)
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	var ee *exitErr
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintln(stderr, "agentwatch:", termsafe.Lines(ee.err.Error()))
		}
		return ee.code
	}
	fmt.Fprintln(stderr, "agentwatch:", termsafe.Lines(err.Error()))
	if code := signalExit(ctx); code != 0 && errors.Is(err, context.Canceled) {
		return code
	}
	if errors.Is(err, registry.ErrLockBusy) {
		return exitLockBusy
	}
	return exitError
}

// isTTY reports whether r (a reader or a writer) is a terminal: a
// character device such as /dev/null is not one.
func isTTY(r any) bool {
	f, ok := r.(*os.File)
	if !ok {
		return false
	}
	return term.IsTerminal(f.Fd())
}

// jsonEncoder returns the encoder of a command's --json output: indented
// for a person at a terminal, one compact line for a program (encoding
// 10,000 agents indented costs a check a tenth of its time).
func jsonEncoder(w io.Writer) *json.Encoder {
	enc := json.NewEncoder(safeJSON{w})
	enc.SetEscapeHTML(false) // command lines hold && and <, as they are
	if isTTY(w) {
		enc.SetIndent("", "  ")
	}
	return enc
}

func newRootCmd(opts *options) *cobra.Command {
	defaults := registry.DefaultStatusSets()
	root := &cobra.Command{
		Use:   "agentwatch",
		Short: "Monitor and repair the agent orchestrator's registries, tmux sessions and claude processes",
		Long: `agentwatch monitors and repairs the state of the agent orchestrator: its registries,
the tmux sessions its agents run in, and their claude processes. It joins the three,
gives every agent, session and process a verdict (ok, starting, ghost, stale, done,
leak, foreign), and finds ghosts (active in the registry, gone in reality), leaks
(sessions and process trees that outlive their agent), drifted counters, duplicated
agents, global and task registries that disagree, and files that do not parse.

It reads both registry eras: the JSON registries (registry/GLOBAL_REGISTRY.json and
each task's TASK-…/AGENT_REGISTRY.json) and, since 2026, the SQLite state database
(registry/state.sqlite3). Workspaces are found from $CLAUDE_ORCHESTRATOR_WORKSPACE,
./.agent-workspace and its parents, ~/.claude-orchestrator and the live agents'
commands, or named with --workspace.

  agentwatch, agentwatch watch  the TUI: the three sources side by side, live, one-key repairs
  agentwatch check              scan once and report (--json for scripts); exit 0, 1 findings, 2 error
  agentwatch repair             plan, show, confirm, apply: locked, journaled, backed up (--kill-leaks)
  agentwatch kill TARGET…       kill a leaked process tree or session, by PID or exact session name
  agentwatch undo               put back what agentwatch's last repair, undo or restore changed
  agentwatch restore            mend a registry that does not parse (journal, salvage, backup)
  agentwatch log                the audit log of every repair, kill, undo and restore
  agentwatch metrics            serve the state to Prometheus
  agentwatch demo               a live sandbox (private tmux server, fake claudes) to try it all on

Every write takes the lock the orchestrator's own writers take, and every change can
be undone.`,
		Version:       version,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentPreRunE = func(*cobra.Command, []string) error { return opts.validate() }
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return &exitErr{code: exitError, err: fmt.Errorf("%w\nsee '%s --help'", err, c.CommandPath())}
	})
	pf := root.PersistentFlags()
	pf.StringArrayVar(&opts.workspaces, "workspace", nil, "workspace base `DIR` (repeatable); replaces discovery")
	pf.StringArrayVar(&opts.socketNames, "tmux-socket", nil, "tmux server socket `NAME` (tmux -L; repeatable); default: the default server")
	pf.StringArrayVar(&opts.socketPaths, "tmux-socket-path", nil, "tmux server socket `PATH` (tmux -S; repeatable)")
	pf.DurationVar(&opts.grace, "grace", 30*time.Second, "an active agent younger than this is starting, never a ghost")
	pf.DurationVar(&opts.stale, "stale", 30*time.Minute, "an alive agent without an update for this long is stale (a warning)")
	pf.StringVar(&opts.match, "match", "", "`REGEX` on the command line that picks claude processes, instead of the built-in matcher")
	pf.DurationVar(&opts.lockTimeout, "lock-timeout", 10*time.Second, "how long to wait for a registry's lock before giving up (exit 75)")
	pf.BoolVar(&opts.readonly, "readonly", false, "never write: refuse every repair, undo and restore")
	pf.BoolVar(&opts.noColor, "no-color", os.Getenv("NO_COLOR") != "", "no colour (also NO_COLOR)")
	pf.StringSliceVar(&opts.active, "active-statuses", defaults.Active, "agent statuses that count as active")
	pf.StringSliceVar(&opts.terminal, "terminal-statuses", defaults.Terminal, "agent statuses that count as terminal")
	tf := &tuiFlags{}
	tf.register(root)
	root.Args = func(c *cobra.Command, args []string) error {
		if len(args) == 0 {
			return nil
		}
		msg := fmt.Sprintf("unknown command %q for %q", args[0], c.CommandPath())
		c.SuggestionsMinimumDistance = 2
		if near := c.SuggestionsFor(args[0]); len(near) > 0 {
			msg += " (did you mean " + strings.Join(near, " or ") + "?)"
		}
		return errors.New(msg)
	}
	root.RunE = func(cmd *cobra.Command, _ []string) error { return runTUI(cmd.Context(), opts, tf, "") }
	root.AddCommand(newWatchCmd(opts, &tuiFlags{}), newCheckCmd(opts), newRepairCmd(opts), newKillCmd(opts), newUndoCmd(opts), newRestoreCmd(opts), newDemoCmd(opts, &tuiFlags{}), newLogCmd(opts), newMetricsCmd(opts))
	// A wrong number of arguments says where the usage is, as a bad flag does.
	for _, c := range append(root.Commands(), root) {
		if args := c.Args; args != nil {
			c.Args = func(c *cobra.Command, a []string) error {
				if err := args(c, a); err != nil {
					return fmt.Errorf("%w; see '%s --help'", err, c.CommandPath())
				}
				return nil
			}
		}
	}
	return root
}

// newEngine discovers the workspaces and builds the engine the commands use.
func (o *options) newEngine(ctx context.Context) (*engine.Engine, error) {
	return o.newEngineWith(ctx, nil)
}

// newEngineWith is newEngine with a last word on the configuration.
func (o *options) newEngineWith(ctx context.Context, tune func(*engine.Config)) (*engine.Engine, error) {
	cwd, err := os.Getwd()
	if err != nil {
		return nil, fmt.Errorf("discover workspaces: %w", err)
	}
	home, _ := os.UserHomeDir()
	var known []string
	if home != "" && len(o.workspaces) == 0 {
		// The orchestrator indexes every base it wrote to; an index that
		// is missing or cannot be read only means fewer bases are found.
		known, _ = statedb.KnownWorkspaces(ctx, statedb.IndexPath(home), statedb.ReadOptions{BusyTimeout: time.Second})
	}
	bases, err := registry.Discover(ctx, registry.DiscoverOptions{
		Explicit: o.workspaces,
		Env:      os.Getenv("CLAUDE_ORCHESTRATOR_WORKSPACE"),
		Cwd:      cwd,
		Home:     home,
		Known:    known,
	})
	var notFound *registry.NotFoundError
	if errors.As(err, &notFound) {
		// Live agent panes may still name a base (their stream logs'
		// paths): the engine finds those as it scans.
		bases, err = nil, nil
	}
	if err != nil {
		return nil, err
	}
	cfg := o.config()
	cfg.Bases = bases
	cfg.FollowPanes = len(o.workspaces) == 0
	cfg.Live = true
	cfg.Grace, cfg.Stale = o.grace, o.stale
	for _, n := range o.socketNames {
		cfg.Sockets = append(cfg.Sockets, tmux.Socket{Name: n})
	}
	for _, p := range o.socketPaths {
		cfg.Sockets = append(cfg.Sockets, tmux.Socket{Path: p})
	}
	cfg.Matcher = procscan.DefaultMatcher()
	// The commands read what the analysis needs of each registry, not the
	// whole document: a repair reads the registries it writes again,
	// whole, under their lock.
	cfg.Lean = true
	if o.match != "" {
		m, err := procscan.NewMatcher(o.match)
		if err != nil {
			return nil, fmt.Errorf("--match: %w", err)
		}
		cfg.Matcher = m
	}
	if tune != nil {
		tune(&cfg)
	}
	eng := engine.New(cfg)
	if notFound != nil {
		found, err := eng.DiscoverFromPanes(ctx)
		if err != nil {
			return nil, err
		}
		if !found {
			return nil, fmt.Errorf("discover workspaces: %w", notFound)
		}
	}
	return eng, nil
}

// config is the engine configuration without workspaces: enough for the
// commands that name their registry files themselves (undo, restore).
func (o *options) config() engine.Config {
	sets := registry.DefaultStatusSets()
	sets.Active, sets.Terminal = o.active, o.terminal
	state := o.stateDir
	if state == "" {
		state = registry.DefaultStateDir()
	}
	return engine.Config{
		Sets: sets,
		// The command line waits for a busy lock as long for a read as for
		// a write; the TUI, which must never wait, sets its own.
		Store: &registry.Store{StateDir: state, LockTimeout: o.lockTimeout, ReadTimeout: o.lockTimeout},
		Audit: engine.NewAudit(state),
	}
}

// scope is the flags that chose what agentwatch looks at, as they must be
// repeated in a command it suggests, quoted for the shell.
func (o *options) scope() string {
	var b strings.Builder
	for _, f := range []struct {
		flag   string
		values []string
	}{{"--workspace", o.workspaces}, {"--tmux-socket", o.socketNames}, {"--tmux-socket-path", o.socketPaths}} {
		for i, v := range f.values {
			if !slices.Contains(f.values[:i], v) { // a flag given twice is said once
				fmt.Fprintf(&b, " %s %s", f.flag, shellArg(v))
			}
		}
	}
	return b.String()
}

// validate rejects flag values that make no sense, before anything runs.
func (o *options) validate() error {
	bad := func(format string, args ...any) error {
		return &exitErr{code: exitError, err: fmt.Errorf(format, args...)}
	}
	switch {
	case o.grace < 0:
		return bad("--grace %s: a duration of zero or more", o.grace)
	case o.stale <= 0:
		return bad("--stale %s: a positive duration", o.stale)
	case o.lockTimeout < 0:
		return bad("--lock-timeout %s: a duration of zero or more", o.lockTimeout)
	}
	for _, s := range o.active {
		if slices.Contains(o.terminal, s) {
			return bad("status %q is in both --active-statuses and --terminal-statuses: it can only be one", s)
		}
	}
	return nil
}

// refuseReadonly is the answer of every writing command under --readonly.
func (o *options) refuseReadonly(what string) error {
	if o.readonly {
		return &exitErr{code: exitError, err: fmt.Errorf("%s writes registries, and --readonly is set", what)}
	}
	return nil
}

// confirm asks a yes/no question on the terminal. Without a terminal it
// refuses: scripts must say --yes. A signal while it waits (Ctrl-C) ends
// the command: exit 130 (128 + the signal), and the error says that
// nothing was done, in the words of nothing ("nothing written").
func (o *options) confirm(ctx context.Context, question, nothing string) (bool, error) {
	if !o.stdinTTY {
		return false, &exitErr{code: exitError, err: errors.New("no terminal to confirm on: run with --yes to go ahead without asking")}
	}
	fmt.Fprintf(o.stderr, "%s [y/N] ", question)
	answer := make(chan string, 1)
	go func() {
		// Left blocked on a read after a signal; the process ends then.
		var a string
		fmt.Fscanln(o.stdin, &a)
		answer <- a
	}()
	select {
	case a := <-answer:
		return a == "y" || a == "Y" || a == "yes", nil
	case <-ctx.Done():
		fmt.Fprintln(o.stderr)
		code := signalExit(ctx)
		if code == 0 {
			code = exitError
		}
		return false, &exitErr{code: code, err: fmt.Errorf("cancelled (%w): %s", context.Cause(ctx), nothing)}
	}
}
