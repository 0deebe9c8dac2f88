package engine

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"agentwatch/procscan"
	"agentwatch/reconcile"
	"agentwatch/registry"
	"agentwatch/registry/pyjson"
	"agentwatch/tmux"
)

// The scale benchmarks run on a scene that bench/scale builds; they are
// skipped unless it is named:
//
//	AGENTWATCH_BENCH_WORKSPACE  the scene's workspace base
//	AGENTWATCH_BENCH_SOCKET     its tmux socket path
//	AGENTWATCH_BENCH_REGISTRY   its big task registry (the repair benchmark)
//
// For example, with the scene's output sourced:
//
//	AGENTWATCH_BENCH_WORKSPACE=$AW_WORKSPACE AGENTWATCH_BENCH_SOCKET=$AW_SOCK \
//	  go test -run '^$' -bench Observe -cpuprofile cpu.out ./engine
func benchEngine(b *testing.B) *Engine {
	b.Helper()
	ws, sock := os.Getenv("AGENTWATCH_BENCH_WORKSPACE"), os.Getenv("AGENTWATCH_BENCH_SOCKET")
	if ws == "" || sock == "" {
		b.Skip("no scale scene: set AGENTWATCH_BENCH_WORKSPACE and AGENTWATCH_BENCH_SOCKET (see bench/scale)")
	}
	state := b.TempDir()
	return New(Config{
		Bases: []registry.Base{{Dir: ws, Source: "bench"}}, Sets: registry.DefaultStatusSets(), Live: true,
		Store:   &registry.Store{StateDir: state, LockTimeout: 10 * time.Second, ReadTimeout: 10 * time.Second},
		Audit:   NewAudit(state),
		Sockets: []tmux.Socket{{Path: sock}}, Matcher: procscan.DefaultMatcher(),
		Grace: 30 * time.Second, Stale: 30 * time.Minute,
	})
}

// BenchmarkObserveFirst is a scan by a new Engine, as `check` makes it:
// the process cache is empty and there is no previous memory.
func BenchmarkObserveFirst(b *testing.B) {
	cfg := benchEngine(b).cfg
	ctx := context.Background()
	for b.Loop() {
		if _, _, _, err := New(cfg).Observe(ctx, time.Now(), nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkObserveSteady is a scan by an Engine that has scanned before,
// with the previous scan's memory, as the TUI makes every scan after its
// first.
func BenchmarkObserveSteady(b *testing.B) {
	e := benchEngine(b)
	ctx := context.Background()
	_, _, mem, err := e.Observe(ctx, time.Now(), nil)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, _, mem, err = e.Observe(ctx, time.Now(), mem); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRepairRecount drifts the big task registry's active_count and
// repairs it through Apply, reporting the exclusive lock's hold time.
func BenchmarkRepairRecount(b *testing.B) {
	e := benchEngine(b)
	path := os.Getenv("AGENTWATCH_BENCH_REGISTRY")
	if path == "" {
		b.Skip("set AGENTWATCH_BENCH_REGISTRY to the scene's big task registry")
	}
	ctx := context.Background()
	var held time.Duration
	for b.Loop() {
		b.StopTimer()
		_, err := e.cfg.Store.Transform(ctx, path, func(cur *registry.Snapshot) (registry.Change, error) {
			n, _ := cur.Root.Get("active_count").Int()
			cur.Root.Set("active_count", pyjson.NewInt(n+7))
			return registry.Write(pyjson.Encode(cur.Root)), nil
		})
		if err != nil {
			b.Fatal(err)
		}
		snap, err := e.Gather(ctx, time.Now())
		if err != nil {
			b.Fatal(err)
		}
		rep, _ := reconcile.Observe(snap.Input, nil)
		plan := reconcile.PlanRepair(snap.Input, rep, false)
		b.StartTimer()
		res := e.apply(ctx, snap, plan, time.Now())
		if len(res.Failed) > 0 || len(res.Commits) == 0 {
			b.Fatalf("repair: %d failed, %d commits", len(res.Failed), len(res.Commits))
		}
		for _, c := range res.Commits {
			if strings.HasSuffix(c.Path, "AGENT_REGISTRY.json") {
				held += c.LockHeld
			}
		}
	}
	b.ReportMetric(float64(held.Microseconds())/1000/float64(b.N), "ms-held/op")
}
