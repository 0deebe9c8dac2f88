package main

// The teardown: everything the scene started ends by socket or PID, and
// its directory goes.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"

	"agentwatch/demo"
	"agentwatch/procscan"
)

// close kills the tmux server by its socket, the sleeps by PID (they are
// this command's children, so their PIDs cannot be reused before they are
// reaped), every other process whose command line names the scene's
// directory by PID and start time, and removes the directory. It then
// checks that none of it is left.
func (s *scene) close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var errs []error
	if err := s.tmux.KillServer(ctx); err != nil {
		errs = append(errs, err)
	}
	for _, c := range s.sleeps {
		c.Process.Signal(syscall.SIGKILL)
	}
	for _, c := range s.sleeps {
		c.Wait()
	}
	// What the server's SIGHUP did not end (a claude, a tee).
	var left []procscan.Identity
	for range 3 {
		ids, err := s.leftovers(ctx)
		if err != nil {
			errs = append(errs, err)
			break
		}
		if left = ids; len(left) == 0 {
			break
		}
		errs = append(errs, demo.KillAll(ctx, ids)...)
	}
	if len(left) > 0 {
		if ids, _ := s.leftovers(ctx); len(ids) > 0 {
			errs = append(errs, fmt.Errorf("%d processes of the scene are left", len(ids)))
		}
	}
	// The server exits a moment after kill-server.
	if s.serverPID > 0 {
		for i := 0; syscall.Kill(s.serverPID, 0) == nil; i++ {
			if i == 250 {
				errs = append(errs, fmt.Errorf("the tmux server (PID %d) is left", s.serverPID))
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	if err := os.RemoveAll(s.dir); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// leftovers are the live processes whose command line names the scene's
// directory.
func (s *scene) leftovers(ctx context.Context) ([]procscan.Identity, error) {
	return demo.Naming(ctx, s.dir)
}
