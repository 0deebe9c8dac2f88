package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/spf13/cobra"

	"agentwatch/engine"
	"agentwatch/quietterm"
	"agentwatch/ui"
)

// tuiFlags are the flags of the TUI, on `watch` and on the bare command.
type tuiFlags struct {
	interval    time.Duration
	termTimeout time.Duration
	force       bool
	metricsAddr string
}

func (f *tuiFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.DurationVar(&f.interval, "interval", 2*time.Second, "time between scans (a registry change rescans at once)")
	fl.DurationVar(&f.termTimeout, "term-timeout", 5*time.Second, "how long a killed process gets after SIGTERM before SIGKILL")
	fl.BoolVar(&f.force, "force", false, "allow killing foreign and healthy targets (each after a second confirmation)")
	fl.StringVar(&f.metricsAddr, "metrics-addr", "", "also serve Prometheus metrics on `ADDR` (e.g. 127.0.0.1:9464)")
}

func newWatchCmd(opts *options, f *tuiFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "watch",
		Short: "The TUI: registry, tmux sessions and claude processes side by side, live, with one-key repairs",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runTUI(cmd.Context(), opts, f, "")
		},
	}
	f.register(cmd)
	return cmd
}

// runTUI opens the TUI on the discovered or given workspaces.
func runTUI(ctx context.Context, opts *options, f *tuiFlags, title string) error {
	if f.interval < 100*time.Millisecond {
		return &exitErr{code: exitError, err: fmt.Errorf("--interval %s: at least 100ms", f.interval)}
	}
	var metrics *engine.Metrics
	if f.metricsAddr != "" {
		metrics = engine.NewMetrics()
	}
	eng, err := opts.newEngineWith(ctx, func(c *engine.Config) {
		// The screen never waits on a lock: a busy registry keeps its last
		// good state and shows who holds it.
		c.Store.ReadTimeout = 50 * time.Millisecond
		c.Metrics = metrics
		// The detail view shows an entry's whole JSON: the TUI keeps the
		// documents.
		c.Lean = false
	})
	if err != nil {
		return &exitErr{code: exitError, err: err}
	}
	if metrics != nil {
		ln, err := net.Listen("tcp", f.metricsAddr)
		if err != nil {
			return &exitErr{code: exitError, err: fmt.Errorf("--metrics-addr: %w", err)}
		}
		srv := &http.Server{Handler: metricsMux(metrics), ReadHeaderTimeout: 5 * time.Second}
		go srv.Serve(ln)
		defer srv.Close()
	}
	quietterm.Ask() // the TUI alone asks the terminal for its background
	err = ui.Run(ctx, ui.Options{
		Backend:     eng,
		Readonly:    opts.readonly,
		NoColor:     opts.noColor,
		Force:       f.force,
		Interval:    f.interval,
		TermTimeout: f.termTimeout,
		Title:       title,
	})
	if err != nil {
		return &exitErr{code: exitError, err: err}
	}
	return nil
}
