package main

// scan and check: the engine's scans, first against steady, and one check.

import (
	"context"
	"os"
	"runtime"
	"runtime/pprof"
	"syscall"
	"time"

	"agentwatch/engine"
	"agentwatch/reconcile"
)

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
	e, done, err := checkEngine(ctx, workspaces, sockets)
	if err != nil {
		return nil, err
	}
	defer done()
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

// checkEngine is an engine as `agentwatch check` makes it (lean reads), its
// state in a directory of its own that done removes.
func checkEngine(ctx context.Context, workspaces, sockets []string) (e *engine.Engine, done func(), err error) {
	state, err := os.MkdirTemp("", "aw-probe-state-")
	if err != nil {
		return nil, nil, err
	}
	if e, err = newEngine(ctx, workspaces, sockets, state, false); err != nil {
		os.RemoveAll(state)
		return nil, nil, err
	}
	return e, func() { os.RemoveAll(state) }, nil
}

type analyzeResult struct {
	Runs    int     `json:"runs"`
	FirstMs float64 `json:"first_ms"`
	// RepeatMs is the median of the runs after the first, on the heap the
	// first left behind.
	RepeatMs float64 `json:"repeat_ms"`
	// AllocMB is what the first analysis allocated.
	AllocMB float64 `json:"alloc_mb"`
	Agents  int     `json:"agents"`
}

// analyze gathers once, as a check does, and times reconcile.Observe on
// what it gathered: the first analysis, on the heap a one-shot check has,
// and n more.
func analyze(ctx context.Context, n int, workspaces, sockets []string) (any, error) {
	e, done, err := checkEngine(ctx, workspaces, sockets)
	if err != nil {
		return nil, err
	}
	defer done()
	snap, err := e.Gather(ctx, time.Now())
	if err != nil {
		return nil, err
	}
	r := analyzeResult{Runs: n}
	var again []float64
	var before, after runtime.MemStats
	for i := range n + 1 {
		if i == 0 {
			runtime.ReadMemStats(&before)
		}
		start := time.Now()
		rep, _ := reconcile.Observe(snap.Input, nil)
		d := ms(time.Since(start))
		if i == 0 {
			runtime.ReadMemStats(&after)
			r.AllocMB = float64(after.TotalAlloc-before.TotalAlloc) / (1 << 20)
			r.FirstMs, r.Agents = d, len(rep.Agents)
		} else {
			again = append(again, d)
		}
	}
	r.RepeatMs = median(again)
	return r, nil
}
