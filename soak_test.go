package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"agentwatch/demo"
	"agentwatch/engine"
	"agentwatch/procscan"
	"agentwatch/reconcile"
	"agentwatch/registry"
	"agentwatch/registry/pyjson"
	"agentwatch/tmux"
)

var soak = flag.Duration("soak", 30*time.Second, "how long TestSoak runs (e.g. -soak=5m)")

// TestSoak runs the engine against a scene that never stops moving —
// agents start, finish and die, python3 writers update the global registry
// under flock — scanning every 200 ms and repairing (kills included) every
// few seconds. It checks that nothing grows (goroutines, descriptors), no
// update is lost, no agent is called a ghost that did not die, and no
// process is killed that was not leaked.
func TestSoak(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the soak test runs for -soak")
	}
	sandbox(t)
	s := buildScene(t)
	ctx, cancel := context.WithTimeout(context.Background(), *soak+30*time.Second)
	defer cancel()
	eng := engine.New(engine.Config{
		Bases:   []registry.Base{{Dir: s.Base, Source: "soak"}},
		Sets:    registry.DefaultStatusSets(),
		Store:   &registry.Store{StateDir: t.TempDir(), LockTimeout: 10 * time.Second, ReadTimeout: 100 * time.Millisecond},
		Audit:   engine.NewAudit(t.TempDir()),
		Live:    true,
		Sockets: []tmux.Socket{s.Socket},
		Matcher: procscan.DefaultMatcher(),
		Grace:   3 * time.Second,
		Settle:  1500 * time.Millisecond,
	})

	// The scene moves; every agent that dies without a word may become a
	// ghost, no other.
	moveCtx, stopMoving := context.WithCancel(ctx)
	events := make(chan demo.Event, 4096)
	moved := make(chan error, 1)
	go func() { moved <- s.Move(moveCtx, 700*time.Millisecond, events) }()

	// Two python3 writers increment a counter of their own under flock,
	// one increment every 50 ms, for as long as the soak runs.
	global := filepath.Join(s.Base, "registry", "GLOBAL_REGISTRY.json")
	const writers = 2
	increments := int(*soak / (60 * time.Millisecond))
	var wg sync.WaitGroup
	for i := 0; i < writers; i++ {
		cmd := exec.CommandContext(ctx, "python3", "registry/testdata/increment.py", global, fmt.Sprint(increments), "soak_counter", "0.05")
		out, _ := cmd.StdoutPipe()
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill() })
		wg.Add(1)
		go func() {
			defer wg.Done()
			io := bufio.NewScanner(out)
			for io.Scan() {
			}
			cmd.Wait()
		}()
	}

	time.Sleep(time.Second) // warm up before taking the baseline
	baseGoroutines := runtime.NumGoroutine()
	baseFDs := openFDs(t)

	var mem *reconcile.Memory
	terminated := map[string]bool{}
	var killed []int
	lastRepair := time.Now()
	end := time.Now().Add(*soak)
	scans := 0
	for time.Now().Before(end) {
		snap, rep, next, err := eng.Observe(ctx, time.Now(), mem)
		if err != nil {
			t.Fatalf("scan %d: %v", scans, err)
		}
		mem = next
		scans++
		if time.Since(lastRepair) > 3*time.Second {
			lastRepair = time.Now()
			plan := reconcile.PlanRepair(snap.Input, rep, true)
			res, err := eng.Repair(ctx, snap, plan, time.Now(), engine.KillOptions{TermTimeout: time.Second})
			if err != nil {
				t.Fatalf("repair: %v", err)
			}
			for _, it := range res.Applied {
				switch it.Op.Op {
				case reconcile.OpTerminate, reconcile.OpComplete:
					terminated[it.AgentID] = true
				case reconcile.OpKillProcess:
					killed = append(killed, it.PID)
				}
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	stopMoving()
	if err := <-moved; err != nil {
		t.Fatalf("the scene stopped moving: %v", err)
	}
	wg.Wait()
	close(events)
	died := map[string]bool{s.Cast.Ghost: true, s.Cast.GhostDone: true}
	gone := map[string]bool{}
	nEvents := 0
	for ev := range events {
		nEvents++
		if ev.What == "die" {
			died[ev.AgentID] = true
		}
		if ev.What != "start" {
			gone[ev.AgentID] = true
		}
	}
	t.Logf("%s: %d scans, %d scene events, %d agents marked, %d processes killed", *soak, scans, nEvents, len(terminated), len(killed))

	// No false ghost.
	for id := range terminated {
		if !died[id] {
			t.Errorf("agent %s was repaired as a ghost, but it never died", id)
		}
	}
	// No lost update.
	data, err := os.ReadFile(global)
	if err != nil {
		t.Fatal(err)
	}
	v, err := pyjson.Parse(data)
	if err != nil {
		t.Fatalf("the global registry does not parse: %v", err)
	}
	if n, _ := v.Get("soak_counter").Int(); n != int64(writers*increments) {
		t.Errorf("soak_counter = %d, want %d: updates were lost", n, writers*increments)
	}
	// No kill of a process that was not leaked: everything that should run
	// still runs.
	roles := s.Roles()
	for role, pids := range roles {
		kind, id, _ := strings.Cut(role, ":")
		keep := role == "foreign" || (kind == "agent" || kind == "mcp") && !gone[id] && !died[id] &&
			id != s.Cast.Finished && id != s.Cast.Untracked && id != s.Cast.Escaped
		for _, pid := range pids {
			if keep && !alive(pid) {
				t.Errorf("%s (PID %d) was killed, yet it was not leaked", role, pid)
			}
		}
	}
	// Nothing grows.
	runtime.GC()
	time.Sleep(200 * time.Millisecond)
	if g := runtime.NumGoroutine(); g > baseGoroutines+5 {
		t.Errorf("goroutines grew from %d to %d", baseGoroutines, g)
	}
	if fds := openFDs(t); fds > baseFDs+5 {
		t.Errorf("open descriptors grew from %d to %d", baseFDs, fds)
	}
}

func openFDs(t *testing.T) int {
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc/self/fd to count descriptors")
	}
	return len(entries)
}
