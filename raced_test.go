package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"agentwatch/engine"
)

func TestCheckSaysSoWhenTheLastRepairRaced(t *testing.T) {
	state := sandbox(t)
	base := copyFixtures(t)
	tw := filepath.Join(base, taskWorking, "AGENT_REGISTRY.json")
	flags := append([]string{"--workspace", base}, liveFlags(t, base)...)
	const warning = "raced with a writer that takes no lock"
	if r := agentwatch(t, append([]string{"check"}, flags...)...); strings.Contains(r.stdout, warning) {
		t.Fatalf("check warns of a race before any repair:\n%s", r.stdout)
	}
	// The audit line a repair writes when the store saw a registry change
	// under its lock (engine's TestARaceWithAnUnlockedWriterIsReported
	// makes one with a real careless writer).
	if err := engine.NewAudit(state).Append(context.Background(), engine.Entry{Action: "repair", Result: "ok", Raced: []string{tw}}); err != nil {
		t.Fatal(err)
	}
	r := agentwatch(t, append([]string{"check"}, flags...)...)
	if !strings.Contains(r.stdout, "warning: the last repair") || !strings.Contains(r.stdout, warning) || !strings.Contains(r.stdout, "  "+tw+"\n") {
		t.Errorf("check after a repair that raced, exit %d:\n%s%s", r.code, r.stdout, r.stderr)
	}
	// A repair that raced with nothing: the warning goes.
	lockedPython(t, tw, "o['active_count'] = 9")
	if r := agentwatch(t, append([]string{"repair", "--yes"}, flags...)...); r.code != 0 || strings.Contains(r.stdout, "raced") {
		t.Fatalf("repair: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := agentwatch(t, append([]string{"check"}, flags...)...); strings.Contains(r.stdout, warning) {
		t.Errorf("check after a clean repair still warns:\n%s", r.stdout)
	}
}
