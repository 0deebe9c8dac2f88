package main

// The scene's processes: the extra sleeps and the live agents' tmux
// sessions, each a fake claude piped into tee.

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"agentwatch/demo"
	"agentwatch/tmux"
)

// startSleeps starts the extra processes, all in one process group, each
// set to die with this command should it be killed without its teardown.
func (s *scene) startSleeps(ctx context.Context) error {
	for i := range s.cfg.extra {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		c := exec.Command("sleep", "infinity")
		c.SysProcAttr = sleepAttr(s.sleepPGID)
		if err := c.Start(); err != nil {
			return fmt.Errorf("sleep %d: %w", i, err)
		}
		if i == 0 {
			s.sleepPGID = c.Process.Pid
		}
		s.sleeps = append(s.sleeps, c)
	}
	return nil
}

// startAgents starts each live agent's session as the orchestrator does:
// claude piped into tee, in the task directory.
func (s *scene) startAgents(ctx context.Context) error {
	claude := filepath.Join(s.bin, demo.ClaudeName)
	for i := range s.cfg.live {
		id := agentID(i)
		req := tmux.NewSessionRequest{Name: "agent_" + id, Dir: s.dir, Width: 200, Height: 50,
			Command: demo.AgentCommand(claude, s.dir, filepath.Join(s.base, bigTask), id)}
		if s.cfg.era == "sqlite" {
			req.Dir, req.Command = filepath.Dir(s.base), s.stateCommand(claude, id)
		}
		if err := s.tmux.NewSession(ctx, req); err != nil {
			return err
		}
	}
	snap, err := s.tmux.Snapshot(ctx)
	if err != nil {
		return err
	}
	s.serverPID = snap.ServerPID
	// Wait until every fake claude has registered: then the scene is what
	// it claims.
	deadline := time.Now().Add(60 * time.Second)
	for {
		entries, _ := os.ReadDir(filepath.Join(s.dir, "pids"))
		if len(entries) >= s.cfg.live {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("only %d of %d fake claudes started", len(entries), s.cfg.live)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}
