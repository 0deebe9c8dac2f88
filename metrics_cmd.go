package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/spf13/cobra"

	"agentwatch/engine"
	"agentwatch/reconcile"
)

func newMetricsCmd(opts *options) *cobra.Command {
	var listen string
	var interval time.Duration
	cmd := &cobra.Command{
		Use:   "metrics [--listen 127.0.0.1:9464] [--interval 15s]",
		Short: "Export the state to Prometheus: scan every interval, serve /metrics",
		Long: `metrics scans every --interval, as the TUI does, and serves the result on
http://LISTEN/metrics for Prometheus: agents by registry and status, counter drift,
ghosts, leaks by cause, foreign claude processes, tmux sessions by verdict, scan
duration, registry lock waits and timeouts, repairs and kills. A ghost is counted
once it has been missing on two scans in a row. It never writes anything.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if interval < 100*time.Millisecond {
				return &exitErr{code: exitError, err: fmt.Errorf("--interval %s: at least 100ms", interval)}
			}
			ctx := cmd.Context()
			m := engine.NewMetrics()
			eng, err := opts.newEngineWith(ctx, func(c *engine.Config) { c.Metrics = m })
			if err != nil {
				return &exitErr{code: exitError, err: err}
			}
			ln, err := net.Listen("tcp", listen)
			if err != nil {
				return &exitErr{code: exitError, err: fmt.Errorf("metrics: %w", err)}
			}
			srv := &http.Server{Handler: metricsMux(m), ReadHeaderTimeout: 5 * time.Second}
			go srv.Serve(ln)
			defer func() {
				shut, cancel := context.WithTimeout(context.Background(), 2*time.Second)
				defer cancel()
				srv.Shutdown(shut)
			}()
			fmt.Fprintf(opts.stdout, "serving metrics on http://%s/metrics every %s\n", ln.Addr(), interval)
			var mem *reconcile.Memory
			for {
				scanCtx, cancel := context.WithTimeout(ctx, interval+10*time.Second)
				_, _, next, err := eng.Observe(scanCtx, time.Now(), mem)
				cancel()
				switch {
				case errors.Is(err, context.Canceled) && ctx.Err() != nil:
					return nil
				case err != nil:
					fmt.Fprintln(opts.stderr, "agentwatch: scan:", err)
				default:
					mem = next
				}
				select {
				case <-ctx.Done():
					return nil
				case <-time.After(interval):
				}
			}
		},
	}
	cmd.Flags().StringVar(&listen, "listen", "127.0.0.1:9464", "`ADDR` to serve /metrics on")
	cmd.Flags().DurationVar(&interval, "interval", 15*time.Second, "time between scans")
	return cmd
}

func metricsMux(m *engine.Metrics) *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle("/metrics", m.Handler())
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "agentwatch: metrics are on /metrics")
	})
	return mux
}
