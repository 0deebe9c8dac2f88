// Command probe takes the measurements of bench/run.sh that need the
// engine from inside, or more precision than a shell gives. Every
// measurement repeats its runs, alternating the two sides of a comparison
// so that the machine's noise falls on both alike, and prints one line of
// JSON with the medians.
//
//	probe cmp   -n N -a 'CMD' -b 'CMD'   two commands run alternately (sh -c): wall time, max RSS
//	probe scan  -n N FLAGS...            a first scan (new engine) against a steady one (same engine)
//	probe codec -n N -file REG           pyjson.Parse + pyjson.Encode of one registry
//	probe lock  -n N -file REG FLAGS...  drift active_count, repair it through the engine: lock held
//	probe cpu   -window D PID...         CPU used by each PID over the window, from /proc/PID/stat
//	probe costs -n N                     the machine's price of a system call and of a page's first touch
//	probe analyze -n N FLAGS...          one gather, then reconcile.Observe on it: the first run and N more
//	probe check FLAGS...                 one engine.Check, as `agentwatch check` runs it (to profile)
//	probe drift -file REG                drift active_count once (for a repair to fix)
//	probe writer -n N -file REG -a 'CMD' a flock'd python writer beside CMD, run N times: its waits for the lock
//	                                     against the time python takes to read REG under its shared lock
//	probe report -dir DIR -out FILE      the table and RESULTS.md from the results of the above
//
// FLAGS are agentwatch's --workspace DIR and --tmux-socket-path PATH. Every
// subcommand takes -cpuprofile FILE and -memprofile FILE.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"time"

	"agentwatch/engine"
	"agentwatch/internal/hugemem"
	"agentwatch/procscan"
	"agentwatch/registry"
	"agentwatch/tmux"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: probe cmp|scan|codec|lock|cpu|check [flags]")
		os.Exit(2)
	}
	fs := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	n := fs.Int("n", 15, "runs of each side")
	a := fs.String("a", "", "cmp: the first command (sh -c)")
	b := fs.String("b", "", "cmp: the second command (sh -c)")
	file := fs.String("file", "", "codec, lock: the registry")
	window := fs.Duration("window", 60*time.Second, "cpu: how long to watch")
	dir := fs.String("dir", "", "report: the results directory")
	outFile := fs.String("out", "", "report: the markdown file to write")
	notes := fs.String("notes", "", "report: a markdown file to append")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile to `FILE`")
	memprofile := fs.String("memprofile", "", "write a heap profile to `FILE` at the end")
	var workspaces, sockets []string
	fs.Func("workspace", "workspace base `DIR` (repeatable)", func(s string) error { workspaces = append(workspaces, s); return nil })
	fs.Func("tmux-socket-path", "tmux socket `PATH` (repeatable)", func(s string) error { sockets = append(sockets, s); return nil })
	fs.Parse(os.Args[2:])

	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			fail(err)
		}
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	ctx := context.Background()
	var out any
	var err error
	switch os.Args[1] {
	case "cmp":
		out, err = cmpCommands(*n, *a, *b)
	case "scan":
		out, err = scan(ctx, *n, workspaces, sockets)
	case "codec":
		hugemem.Enable() // as repair, which runs the codec, does
		out, err = codec(*n, *file)
	case "lock":
		out, err = lockHeld(ctx, *n, *file, workspaces, sockets)
	case "cpu":
		out, err = cpu(*window, fs.Args())
	case "costs":
		out, err = costs(*n)
	case "analyze":
		out, err = analyze(ctx, *n, workspaces, sockets)
	case "check":
		out, err = check(ctx, workspaces, sockets, *memprofile)
		*memprofile = "" // written while the scan's snapshot was alive
	case "writer":
		out, err = writerWaits(*n, *file, *a)
	case "drift":
		err = drift(ctx, *file, "active_count", 7)
		out = map[string]string{"drifted": *file}
	case "report":
		err = report(*dir, *outFile, *notes)
		if err == nil {
			return
		}
	default:
		err = fmt.Errorf("unknown subcommand %q", os.Args[1])
	}
	if err != nil {
		pprof.StopCPUProfile()
		fail(err)
	}
	if *memprofile != "" {
		f, err := os.Create(*memprofile)
		if err != nil {
			fail(err)
		}
		runtime.GC()
		pprof.WriteHeapProfile(f)
		f.Close()
	}
	json.NewEncoder(os.Stdout).Encode(out)
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "probe:", err)
	os.Exit(1)
}

// median of xs, which it sorts.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	slices.Sort(xs)
	if len(xs)%2 == 1 {
		return xs[len(xs)/2]
	}
	return (xs[len(xs)/2-1] + xs[len(xs)/2]) / 2
}

func ms(d time.Duration) float64 { return float64(d) / 1e6 }

// newEngine builds the engine as the command line does for check and
// repair, with its state directory (backups, audit log) in stateDir; with
// tui, as the TUI does (whole documents rather than lean reads).
func newEngine(ctx context.Context, workspaces, sockets []string, stateDir string, tui bool) (*engine.Engine, error) {
	bases, err := registry.Discover(ctx, registry.DiscoverOptions{Explicit: workspaces})
	if err != nil {
		return nil, err
	}
	cfg := engine.Config{
		Bases: bases, Sets: registry.DefaultStatusSets(), Live: true,
		Store:   &registry.Store{StateDir: stateDir, LockTimeout: 10 * time.Second, ReadTimeout: 10 * time.Second},
		Audit:   engine.NewAudit(stateDir),
		Matcher: procscan.DefaultMatcher(), Grace: 30 * time.Second, Stale: 30 * time.Minute,
		Lean: !tui,
	}
	for _, p := range sockets {
		cfg.Sockets = append(cfg.Sockets, tmux.Socket{Path: p})
	}
	return engine.New(cfg), nil
}
