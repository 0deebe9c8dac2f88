package main

// codec and lock: how fast the registry codec is, and how long a repair
// holds a registry's lock.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"slices"
	"time"

	"agentwatch/engine"
	"agentwatch/reconcile"
	"agentwatch/registry"
	"agentwatch/registry/pyjson"
)

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
