// Ending a scene: every process it started, by PID and start time, its
// tmux server by socket, its directory; and the scenes whose owner died.

package demo

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"agentwatch/procscan"
	"agentwatch/tmux"
)

// Processes returns every live process the scene started: every process
// whose command line names the scene's directory, wherever it was
// reparented to.
func (s *Scene) Processes(ctx context.Context) ([]procscan.Identity, error) {
	return Naming(ctx, s.Dir)
}

// Close ends every process the scene started, by PID and start time, kills
// its tmux server by socket and removes its directory.
func (s *Scene) Close(ctx context.Context) error {
	err := Teardown(ctx, s.Dir, s.Socket) // the reaper with the rest
	if s.cut != nil {
		s.cut() // reaped; killed, it has nothing to say
	}
	return err
}

// runReaper is the scene's reaper: it reads its input to the end, its
// owner's end, and tears the scene down.
func runReaper(argv []string) int {
	fs := flag.NewFlagSet(ReaperName, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	dir := fs.String("scene", "", "the scene's directory")
	if err := fs.Parse(argv[1:]); err != nil || *dir == "" {
		return 2
	}
	io.Copy(io.Discard, os.Stdin)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := Teardown(ctx, *dir, tmux.Socket{Path: filepath.Join(*dir, "sock")}); err != nil {
		return 1
	}
	return 0
}

// Naming returns the live processes (zombies aside) whose command line
// names dir, other than this one: what a scene, or a test's own sandbox
// under dir, started. dir is named by a word of the command line that is
// dir or a path under it: /tmp/x-12 does not name /tmp/x-123.
func Naming(ctx context.Context, dir string) ([]procscan.Identity, error) {
	table, err := procscan.NewScanner().Scan(ctx)
	if err != nil {
		return nil, err
	}
	var out []procscan.Identity
	for _, p := range table.Procs {
		if p.PID != int32(os.Getpid()) && !p.Zombie() && names(p.Cmdline(), dir) {
			out = append(out, p.Identity())
		}
	}
	return out, nil
}

// names reports whether cmdline holds dir where it ends or a '/', a space
// or a quote follows it.
func names(cmdline, dir string) bool {
	for i := 0; ; {
		j := strings.Index(cmdline[i:], dir)
		if j < 0 {
			return false
		}
		end := i + j + len(dir)
		if end == len(cmdline) || strings.ContainsRune("/ '\"", rune(cmdline[end])) {
			return true
		}
		i += j + 1
	}
}

// KillAll ends the processes ids by PID and start time, TERM then KILL,
// and returns an error for each that survived or was refused.
func KillAll(ctx context.Context, ids []procscan.Identity) []error {
	if len(ids) == 0 {
		return nil
	}
	var errs []error
	outs, err := procscan.Kill(ctx, procscan.KillRequest{Targets: ids, TermTimeout: 2 * time.Second})
	if err != nil {
		errs = append(errs, err)
	}
	for _, o := range outs {
		if o.Result == procscan.KillSurvived || o.Result == procscan.KillRefused {
			errs = append(errs, fmt.Errorf("PID %d %s: %s", o.PID, o.Result, o.Reason))
		}
	}
	return errs
}

// Teardown kills the tmux server on sock, every process naming dir (by PID
// and start time: TERM, then KILL), and removes dir. The demo and the tests
// end what they started with it.
//
// A server that does not answer (stopped) has 5 s for kill-server; its
// process names dir, so it is killed by PID with the rest (a stopped
// process is continued first). The directory is removed only once every
// process naming it is gone: a later ReapOrphans finds what is left.
func Teardown(ctx context.Context, dir string, sock tmux.Socket) error {
	var errs []error
	kctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	if err := tmux.NewClient(sock).KillServer(kctx); err != nil {
		errs = append(errs, err)
	}
	cancel()
	ids, err := Naming(ctx, dir)
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	if kerrs := KillAll(ctx, ids); len(kerrs) > 0 {
		return errors.Join(append(errs, kerrs...)...)
	}
	if err := os.RemoveAll(dir); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

const scenePrefix = "agentwatch-demo-"

// writeOwner records the process that owns the scene, by PID and start
// time, so that a later Build can tell a scene whose owner died.
func writeOwner(ctx context.Context, dir string) error {
	table, err := procscan.NewScanner().Scan(ctx)
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	me := table.Procs[int32(os.Getpid())]
	if me == nil {
		return fmt.Errorf("demo: this process is not in the process table")
	}
	return os.WriteFile(filepath.Join(dir, "owner"), []byte(fmt.Sprintf("%d %d\n", me.PID, me.Start)), 0o644)
}

// ReapOrphans closes every scene in /tmp whose owner is gone: its tmux
// server, its processes, its directory. It returns how many it closed.
func ReapOrphans(ctx context.Context) int {
	dirs, _ := filepath.Glob(filepath.Join("/tmp", scenePrefix+"*"))
	if len(dirs) == 0 {
		return 0
	}
	table, err := procscan.NewScanner().Scan(ctx)
	if err != nil {
		return 0
	}
	n := 0
	for _, dir := range dirs {
		data, err := os.ReadFile(filepath.Join(dir, "owner"))
		if err != nil {
			continue // no owner recorded: not ours to judge
		}
		var id procscan.Identity
		if _, err := fmt.Sscan(string(data), &id.PID, &id.Start); err != nil {
			continue
		}
		// Start times computed by two processes can differ by the boot
		// time's rounding: a second's slack still tells a reused PID.
		if p := table.Procs[id.PID]; p != nil && !p.Zombie() && absDiff(p.Start, id.Start) <= 2000 {
			continue
		}
		// Each its own time: one stopped server must not leave the
		// others' processes running.
		tctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		if Teardown(tctx, dir, tmux.Socket{Path: filepath.Join(dir, "sock")}) == nil {
			n++
		}
		cancel()
	}
	return n
}

func absDiff(a, b int64) int64 {
	if a > b {
		return a - b
	}
	return b - a
}
