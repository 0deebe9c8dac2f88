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
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"agentwatch/engine"
	"agentwatch/procscan"
	"agentwatch/reconcile"
	"agentwatch/registry"
	"agentwatch/registry/pyjson"
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
		out, err = codec(*n, *file)
	case "lock":
		out, err = lockHeld(ctx, *n, *file, workspaces, sockets)
	case "cpu":
		out, err = cpu(*window, fs.Args())
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

// cmpResult is a side-by-side comparison of two commands.
type cmpResult struct {
	Runs     int     `json:"runs"`
	AMs      float64 `json:"a_ms"`
	BMs      float64 `json:"b_ms"`
	Ratio    float64 `json:"ratio"`
	AMaxRSS  float64 `json:"a_maxrss_mb"`
	BMaxRSS  float64 `json:"b_maxrss_mb"`
	AExit    []int   `json:"a_exit_codes"`
	AUserMs  float64 `json:"a_user_ms"`
	ASysMs   float64 `json:"a_sys_ms"`
	BCPUMs   float64 `json:"b_cpu_ms"`
	AllAMs   []int   `json:"a_all_ms"`
	AllBMs   []int   `json:"b_all_ms"`
	Warmups  int     `json:"warmups"`
	Note     string  `json:"note,omitempty"`
	AlterPer string  `json:"order"`
}

type runStat struct {
	wall       time.Duration
	maxRSS     int64 // KiB
	user, sys  time.Duration
	exit       int
	stderrTail string
}

// runSh runs a command line with sh -c, its output thrown away, and
// returns its wall time and its rusage (the shell and all it waited for).
func runSh(line string) (runStat, error) {
	c := exec.Command("sh", "-c", line)
	var stderr bytes.Buffer
	c.Stderr = &stderr
	start := time.Now()
	err := c.Run()
	st := runStat{wall: time.Since(start)}
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		return st, err
	}
	ru := c.ProcessState.SysUsage().(*syscall.Rusage)
	st.maxRSS = ru.Maxrss
	st.user = time.Duration(ru.Utime.Nano())
	st.sys = time.Duration(ru.Stime.Nano())
	st.exit = c.ProcessState.ExitCode()
	if s := stderr.String(); len(s) > 300 {
		st.stderrTail = s[len(s)-300:]
	} else {
		st.stderrTail = s
	}
	return st, nil
}

func cmpCommands(n int, a, b string) (any, error) {
	if a == "" || b == "" {
		return nil, errors.New("cmp needs -a and -b")
	}
	r := cmpResult{Runs: n, Warmups: 1, AlterPer: "a,b then b,a, alternating"}
	// One warm-up of each: page cache, the binary's pages.
	for _, line := range []string{a, b} {
		if _, err := runSh(line); err != nil {
			return nil, err
		}
	}
	var aw, bw, ar, br, au, as, bc []float64
	for i := range n {
		order := []string{a, b}
		if i%2 == 1 {
			order = []string{b, a}
		}
		for _, line := range order {
			st, err := runSh(line)
			if err != nil {
				return nil, err
			}
			if line == a {
				aw, ar = append(aw, ms(st.wall)), append(ar, float64(st.maxRSS)/1024)
				au, as = append(au, ms(st.user)), append(as, ms(st.sys))
				r.AExit = append(r.AExit, st.exit)
				r.AllAMs = append(r.AllAMs, int(ms(st.wall)))
				if st.exit > 1 {
					r.Note = "a failed: " + st.stderrTail
				}
			} else {
				bw, br = append(bw, ms(st.wall)), append(br, float64(st.maxRSS)/1024)
				bc = append(bc, ms(st.user+st.sys))
				r.AllBMs = append(r.AllBMs, int(ms(st.wall)))
			}
		}
	}
	r.AMs, r.BMs = median(aw), median(bw)
	r.Ratio = r.AMs / r.BMs
	r.AMaxRSS, r.BMaxRSS = median(ar), median(br)
	r.AUserMs, r.ASysMs, r.BCPUMs = median(au), median(as), median(bc)
	return r, nil
}

type scanResult struct {
	Runs     int     `json:"runs"`
	FirstMs  float64 `json:"first_ms"`
	SteadyMs float64 `json:"steady_ms"`
	Ratio    float64 `json:"ratio"`
	// Parts of a steady scan, medians: the gather (registries, tmux,
	// processes) and the analysis.
	SteadyGatherMs  float64 `json:"steady_gather_ms"`
	SteadyAnalyzeMs float64 `json:"steady_analyze_ms"`
	FirstGatherMs   float64 `json:"first_gather_ms"`
	// SteadyCPUMs is the CPU (user + system, all threads) one steady scan
	// costs: what a TUI pays per interval before it draws anything.
	SteadyCPUMs float64 `json:"steady_cpu_ms"`
	Procs       int     `json:"procs"`
	Agents      int     `json:"agents"`
}

// scan compares a first scan (a new Engine: empty process cache, no
// memory) with a steady-state one (the same Engine and memory as the
// previous scan, as the TUI's every scan after its first), alternating.
func scan(ctx context.Context, n int, workspaces, sockets []string) (any, error) {
	state, err := os.MkdirTemp("", "aw-probe-state-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(state)
	steady, err := newEngine(ctx, workspaces, sockets, state, true)
	if err != nil {
		return nil, err
	}
	_, _, mem, err := steady.Observe(ctx, time.Now(), nil)
	if err != nil {
		return nil, err
	}
	r := scanResult{Runs: n}
	var first, stead, sg, sa, fg, scpu []float64
	for i := range n {
		for j := range 2 {
			if (i+j)%2 == 0 { // first scan
				e, err := newEngine(ctx, workspaces, sockets, state, true)
				if err != nil {
					return nil, err
				}
				start := time.Now()
				snap, rep, _, err := e.Observe(ctx, time.Now(), nil)
				if err != nil {
					return nil, err
				}
				first = append(first, ms(time.Since(start)))
				fg = append(fg, ms(snap.Duration))
				r.Procs, r.Agents = len(snap.Input.Live.Procs.Procs), len(rep.Agents)
			} else {
				cpu0 := selfCPU()
				start := time.Now()
				snap, _, next, err := steady.Observe(ctx, time.Now(), mem)
				if err != nil {
					return nil, err
				}
				total := time.Since(start)
				scpu = append(scpu, ms(selfCPU()-cpu0))
				mem = next
				stead = append(stead, ms(total))
				sg, sa = append(sg, ms(snap.Duration)), append(sa, ms(total-snap.Duration))
			}
		}
	}
	r.FirstMs, r.SteadyMs = median(first), median(stead)
	r.Ratio = r.SteadyMs / r.FirstMs
	r.SteadyGatherMs, r.SteadyAnalyzeMs, r.FirstGatherMs = median(sg), median(sa), median(fg)
	r.SteadyCPUMs = median(scpu)
	return r, nil
}

// selfCPU is the CPU this process has used so far, user and system.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

type codecResult struct {
	Runs     int     `json:"runs"`
	Bytes    int     `json:"bytes"`
	Agents   int     `json:"agents"`
	DecodeMs float64 `json:"decode_ms"`
	EncodeMs float64 `json:"encode_ms"`
	TotalMs  float64 `json:"total_ms"`
	Identity bool    `json:"byte_identical"`
}

// codec times pyjson.Parse and pyjson.Encode of one file; each run's
// total is its own decode plus its own encode, and the median is of those.
func codec(n int, file string) (any, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	r := codecResult{Runs: n, Bytes: len(data), Identity: true}
	var dec, enc, tot []float64
	for range n + 1 { // the first run warms up, and is not counted
		runtime.GC()
		t0 := time.Now()
		v, err := pyjson.Parse(data)
		if err != nil {
			return nil, err
		}
		t1 := time.Now()
		out := pyjson.Encode(v)
		t2 := time.Now()
		if !bytes.Equal(out, data) {
			r.Identity = false
		}
		r.Agents = v.Get("agents").Len()
		dec, enc, tot = append(dec, ms(t1.Sub(t0))), append(enc, ms(t2.Sub(t1))), append(tot, ms(t2.Sub(t0)))
	}
	dec, enc, tot = dec[1:], enc[1:], tot[1:]
	r.DecodeMs, r.EncodeMs, r.TotalMs = median(dec), median(enc), median(tot)
	return r, nil
}

type lockResult struct {
	Runs       int     `json:"runs"`
	HeldMs     float64 `json:"held_ms"`
	MaxHeldMs  float64 `json:"max_held_ms"`
	WaitMs     float64 `json:"wait_ms"`
	Applied    int     `json:"applied_per_run"`
	AllHeldMs  []int   `json:"all_held_ms"`
	RepairMs   float64 `json:"repair_ms"`
	CheckMs    float64 `json:"check_ms"`
	Registries int     `json:"registries_changed_per_run"`
}

// lockHeld drifts the registry's active_count (as a lost update leaves it),
// runs the repair that `agentwatch repair --yes` runs, through the engine,
// and reads how long the store held the registry's exclusive lock. The
// backups and the audit log go to a temporary state directory.
func lockHeld(ctx context.Context, n int, file string, workspaces, sockets []string) (any, error) {
	if file == "" {
		return nil, errors.New("lock needs -file")
	}
	state, err := os.MkdirTemp("", "aw-probe-state-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(state)
	r := lockResult{Runs: n}
	var held, wait, repair, checks []float64
	for i := range n + 1 { // the first run warms up, and is not counted
		if err := drift(ctx, file, "active_count", 7); err != nil {
			return nil, err
		}
		e, err := newEngine(ctx, workspaces, sockets, state, false)
		if err != nil {
			return nil, err
		}
		t0 := time.Now()
		snap, rep, err := e.Check(ctx)
		if err != nil {
			return nil, err
		}
		plan := reconcile.PlanRepair(snap.Input, rep, false)
		t1 := time.Now()
		res, err := e.Repair(ctx, snap, plan, time.Now(), engine.KillOptions{})
		if err != nil {
			return nil, err
		}
		t2 := time.Now()
		if len(res.Failed) > 0 {
			return nil, fmt.Errorf("repair failed: %s", res.Failed[0].Why)
		}
		for _, c := range res.Commits {
			if c.Path != file || !c.Changed {
				continue
			}
			if i > 0 {
				held, wait = append(held, ms(c.LockHeld)), append(wait, ms(c.LockWait))
				r.AllHeldMs = append(r.AllHeldMs, int(ms(c.LockHeld)))
				repair, checks = append(repair, ms(t2.Sub(t1))), append(checks, ms(t1.Sub(t0)))
			}
		}
		r.Applied, r.Registries = len(res.Applied), len(res.Commits)
	}
	if len(held) != n {
		return nil, fmt.Errorf("the repair changed %s in %d of %d runs", file, len(held), n)
	}
	r.MaxHeldMs = slices.Max(held)
	r.HeldMs, r.WaitMs, r.RepairMs, r.CheckMs = median(held), median(wait), median(repair), median(checks)
	return r, nil
}

// drift sets a counter of the registry to a wrong value, under the
// registry's lock, as one of the orchestrator's writers would leave it.
func drift(ctx context.Context, file, field string, by int64) error {
	st := &registry.Store{StateDir: os.TempDir()}
	_, err := st.Transform(ctx, file, func(cur *registry.Snapshot) (registry.Change, error) {
		v := cur.Root.Get(field)
		if v == nil {
			return registry.Keep(), fmt.Errorf("%s has no %s", file, field)
		}
		n, _ := v.Int()
		cur.Root.Set(field, pyjson.NewInt(n+by))
		return registry.Write(pyjson.Encode(cur.Root)), nil
	})
	return err
}

type cpuResult struct {
	WindowS float64   `json:"window_s"`
	PIDs    []int     `json:"pids"`
	SelfMs  []float64 `json:"self_cpu_ms"`
	// ChildMs is the CPU of the children each process reaped in the window
	// (cutime + cstime): tmux clients a scan runs, for one.
	ChildMs []float64 `json:"children_cpu_ms"`
	// Pct is (self + children) as a percentage of one core.
	Pct     []float64 `json:"cpu_pct"`
	SelfPct []float64 `json:"self_cpu_pct"`
}

// cpu reads utime, stime, cutime and cstime of each PID before and after
// the window.
func cpu(window time.Duration, args []string) (any, error) {
	var pids []int
	for _, a := range args {
		pid, err := strconv.Atoi(a)
		if err != nil {
			return nil, fmt.Errorf("cpu: PID %q", a)
		}
		pids = append(pids, pid)
	}
	before := make([][4]int64, len(pids))
	for i, pid := range pids {
		t, err := cpuTicks(pid)
		if err != nil {
			return nil, err
		}
		before[i] = t
	}
	start := time.Now()
	time.Sleep(window)
	r := cpuResult{PIDs: pids}
	elapsed := time.Since(start)
	r.WindowS = elapsed.Seconds()
	const tick = 10.0 // ms per clock tick: sysconf(_SC_CLK_TCK) is 100 on Linux
	for i, pid := range pids {
		t, err := cpuTicks(pid)
		if err != nil {
			return nil, fmt.Errorf("PID %d ended during the window: %w", pid, err)
		}
		self := float64(t[0]+t[1]-before[i][0]-before[i][1]) * tick
		child := float64(t[2]+t[3]-before[i][2]-before[i][3]) * tick
		r.SelfMs = append(r.SelfMs, self)
		r.ChildMs = append(r.ChildMs, child)
		r.Pct = append(r.Pct, (self+child)/ms(elapsed)*100)
		r.SelfPct = append(r.SelfPct, self/ms(elapsed)*100)
	}
	return r, nil
}

// cpuTicks reads utime, stime, cutime, cstime (fields 14-17) of
// /proc/PID/stat, in clock ticks.
func cpuTicks(pid int) ([4]int64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return [4]int64{}, err
	}
	// The command name (field 2) may hold spaces: fields start after its ')'.
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return [4]int64{}, fmt.Errorf("/proc/%d/stat: no command name", pid)
	}
	f := strings.Fields(s[i+1:]) // f[0] is field 3 (state)
	if len(f) < 15 {
		return [4]int64{}, fmt.Errorf("/proc/%d/stat: short", pid)
	}
	var out [4]int64
	for j := range 4 {
		v, err := strconv.ParseInt(f[11+j], 10, 64)
		if err != nil {
			return out, fmt.Errorf("/proc/%d/stat: %w", pid, err)
		}
		out[j] = v
	}
	return out, nil
}

type checkResult struct {
	Ms       float64                       `json:"ms"`
	GatherMs float64                       `json:"gather_ms"`
	Healthy  bool                          `json:"healthy"`
	Summary  map[reconcile.FindingKind]int `json:"summary"`
	Agents   int                           `json:"agents"`
	HeapMB   float64                       `json:"heap_inuse_mb"`
}

// check runs one engine.Check, as `agentwatch check` does; a heap profile
// is written while its snapshot is still alive.
func check(ctx context.Context, workspaces, sockets []string, memprofile string) (any, error) {
	state, err := os.MkdirTemp("", "aw-probe-state-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(state)
	e, err := newEngine(ctx, workspaces, sockets, state, false)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	snap, rep, err := e.Check(ctx)
	if err != nil {
		return nil, err
	}
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	if memprofile != "" {
		f, err := os.Create(memprofile)
		if err != nil {
			return nil, err
		}
		runtime.GC()
		pprof.WriteHeapProfile(f)
		f.Close()
		runtime.KeepAlive(snap)
	}
	return checkResult{Ms: ms(time.Since(start)), GatherMs: ms(snap.Duration), Healthy: rep.Healthy(),
		Summary: rep.Summary(), Agents: len(rep.Agents), HeapMB: float64(m.HeapInuse) / (1 << 20)}, nil
}

// writerScript is the orchestrator's careful writer, reduced to its lock:
// every few milliseconds it takes LOCK_EX on the registry, as its writers
// do around a rewrite, and notes how long flock waited, until stdin
// closes. With argument "read" it instead reads the whole registry under
// LOCK_SH, as a reader of the orchestrator does, and prints how long the
// read took: what a writer beside agentwatch may wait at most.
const writerScript = `
import fcntl, json, os, select, sys, time
path, mode = sys.argv[1], sys.argv[2]
if mode == "read":
    times = []
    for _ in range(int(sys.argv[3])):
        with open(path, "rb") as f:
            t = time.monotonic()
            fcntl.flock(f, fcntl.LOCK_SH)
            f.read()
            fcntl.flock(f, fcntl.LOCK_UN)
            times.append((time.monotonic() - t) * 1000)
    print(json.dumps(times))
    sys.exit(0)
waits = []
with open(path, "r+b") as f:
    print("ready", flush=True)
    while not select.select([sys.stdin], [], [], 0.003)[0]:
        t = time.monotonic()
        fcntl.flock(f, fcntl.LOCK_EX)
        waits.append((time.monotonic() - t) * 1000)
        fcntl.flock(f, fcntl.LOCK_UN)
print(json.dumps(waits))
`

type writerResult struct {
	Runs        int     `json:"runs"`
	Bytes       int64   `json:"bytes"`
	ReadMs      float64 `json:"read_ms"`     // median python read under LOCK_SH
	ReadMaxMs   float64 `json:"read_max_ms"` // the longest of them
	WaitMaxMs   float64 `json:"writer_max_wait_ms"`
	WaitP99Ms   float64 `json:"writer_p99_wait_ms"`
	Locks       int     `json:"writer_locks"`
	CheckMs     float64 `json:"check_ms"`
	CheckMaxRSS float64 `json:"check_maxrss_mb"`
	CheckExits  []int   `json:"check_exit_codes"`
	Note        string  `json:"note,omitempty"`
}

// writerWaits runs a flock'd python writer beside n runs of the command
// (sh -c), and reports the writer's waits for the lock against the time a
// plain read of the registry under its shared lock takes.
func writerWaits(n int, file, line string) (any, error) {
	if file == "" || line == "" {
		return nil, errors.New("writer needs -file and -a")
	}
	fi, err := os.Stat(file)
	if err != nil {
		return nil, err
	}
	r := writerResult{Runs: n, Bytes: fi.Size()}
	out, err := exec.Command("python3", "-c", writerScript, file, "read", strconv.Itoa(n)).Output()
	if err != nil {
		return nil, fmt.Errorf("python reader: %w", err)
	}
	var reads []float64
	if err := json.Unmarshal(out, &reads); err != nil {
		return nil, err
	}
	r.ReadMs = median(slices.Clone(reads))
	r.ReadMaxMs = slices.Max(reads)

	w := exec.Command("python3", "-c", writerScript, file, "write")
	stdin, err := w.StdinPipe()
	if err != nil {
		return nil, err
	}
	var wout bytes.Buffer
	stdout, err := w.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := w.Start(); err != nil {
		return nil, err
	}
	defer func() { // the writer ends by its PID, whatever happens
		if w.ProcessState == nil {
			w.Process.Kill()
			w.Wait()
		}
	}()
	ready := make([]byte, 6)
	if _, err := io.ReadFull(stdout, ready); err != nil {
		return nil, fmt.Errorf("python writer: %w", err)
	}
	var walls, rss []float64
	for range n {
		st, err := runSh(line)
		if err != nil {
			return nil, err
		}
		walls, rss = append(walls, ms(st.wall)), append(rss, float64(st.maxRSS)/1024)
		r.CheckExits = append(r.CheckExits, st.exit)
		if st.exit > 1 {
			r.Note = "the command failed: " + st.stderrTail
		}
	}
	stdin.Close()
	if _, err := io.Copy(&wout, stdout); err != nil {
		return nil, err
	}
	if err := w.Wait(); err != nil {
		return nil, fmt.Errorf("python writer: %w", err)
	}
	var waits []float64
	if err := json.Unmarshal(wout.Bytes(), &waits); err != nil {
		return nil, fmt.Errorf("python writer: %w", err)
	}
	r.Locks = len(waits)
	if len(waits) > 0 {
		slices.Sort(waits)
		r.WaitMaxMs = waits[len(waits)-1]
		r.WaitP99Ms = waits[len(waits)*99/100]
	}
	r.CheckMs, r.CheckMaxRSS = median(walls), slices.Max(rss)
	return r, nil
}
