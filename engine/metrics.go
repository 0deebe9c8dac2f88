package engine

import (
	"errors"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"agentwatch/reconcile"
	"agentwatch/registry"
	"agentwatch/registry/pyjson"
)

// Metrics is what agentwatch exports to Prometheus: the state of the last
// scan as gauges, and what it did as counters and histograms. Each engine
// owns its own registry, so tests and several engines never collide.
type Metrics struct {
	reg *prometheus.Registry

	agents        *prometheus.GaugeVec
	drift         *prometheus.GaugeVec
	ghosts        prometheus.Gauge
	leaks         *prometheus.GaugeVec
	foreign       prometheus.Gauge
	sessions      *prometheus.GaugeVec
	scanDuration  prometheus.Histogram
	lockWait      prometheus.Histogram
	lockTimeouts  prometheus.Counter
	unlockedWrite prometheus.Counter
	repairs       *prometheus.CounterVec
	kills         *prometheus.CounterVec
	scans         prometheus.Counter
	scanErrors    prometheus.Counter
	findings      *prometheus.GaugeVec
	sources       *prometheus.GaugeVec
}

// Source states, the state label of agentwatch_sources.
const (
	sourceOK         = "ok"
	sourceCorrupt    = "corrupt"
	sourceUnreadable = "unreadable"
	sourceLocked     = "locked"
)

var sourceStates = []string{sourceOK, sourceCorrupt, sourceUnreadable, sourceLocked}

// NewMetrics registers agentwatch's metrics, and the Go and process
// collectors, in a registry of its own.
func NewMetrics() *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	f := func(c prometheus.Collector) { m.reg.MustRegister(c) }
	m.agents = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "agentwatch_agents",
		Help: "Agents in the registries by registry and status (the task entry's status, else the global one)."}, []string{"registry", "status"})
	m.drift = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "agentwatch_counter_drift",
		Help: "A registry counter minus what the registry holds; 0 when it is right."}, []string{"registry", "field"})
	m.ghosts = prometheus.NewGauge(prometheus.GaugeOpts{Name: "agentwatch_ghosts",
		Help: "Agents marked active whose session and processes are gone."})
	m.leaks = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "agentwatch_leaks",
		Help: "Leaked sessions and orphaned processes, by cause."}, []string{"cause"})
	m.foreign = prometheus.NewGauge(prometheus.GaugeOpts{Name: "agentwatch_foreign_claude_processes",
		Help: "Claude processes not attributable to any agent."})
	m.sessions = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "agentwatch_tmux_sessions",
		Help: "tmux sessions on the servers scanned, by verdict."}, []string{"verdict"})
	m.scanDuration = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "agentwatch_scan_duration_seconds",
		Help: "How long one scan of the registries, tmux and the process table took.", Buckets: prometheus.ExponentialBuckets(0.001, 2, 14)})
	m.lockWait = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "agentwatch_registry_lock_wait_seconds",
		Help: "How long a registry write waited for the registry's exclusive lock.", Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16)})
	m.lockTimeouts = prometheus.NewCounter(prometheus.CounterOpts{Name: "agentwatch_registry_lock_timeouts_total",
		Help: "Registry reads and writes that gave up on a lock held past the timeout."})
	m.unlockedWrite = prometheus.NewCounter(prometheus.CounterOpts{Name: "agentwatch_unlocked_writes_total",
		Help: "Times a registry's bytes changed while agentwatch held its exclusive lock: a writer that takes no lock."})
	m.repairs = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "agentwatch_repairs_total",
		Help: "Registry repair operations applied, by operation."}, []string{"op"})
	m.kills = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "agentwatch_kills_total",
		Help: "Kill operations, by result."}, []string{"result"})
	m.scans = prometheus.NewCounter(prometheus.CounterOpts{Name: "agentwatch_scans_total", Help: "Scans done."})
	m.scanErrors = prometheus.NewCounter(prometheus.CounterOpts{Name: "agentwatch_scan_errors_total", Help: "Scans that failed."})
	m.findings = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "agentwatch_findings",
		Help: "Findings of the last scan, by kind (every kind is exported, 0 when there is none)."}, []string{"kind"})
	m.sources = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "agentwatch_sources",
		Help: "Each registry file and state database of the last scan: 1 for the state it is in (ok, corrupt, unreadable, locked), 0 for the others."},
		[]string{"source", "kind", "state"})
	for _, c := range []prometheus.Collector{m.agents, m.drift, m.ghosts, m.leaks, m.foreign, m.sessions, m.scanDuration,
		m.lockWait, m.lockTimeouts, m.unlockedWrite, m.repairs, m.kills, m.scans, m.scanErrors, m.findings, m.sources,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})} {
		f(c)
	}
	for _, cause := range []reconcile.Cause{reconcile.CauseUntrackedSession, reconcile.CauseFinishedAgent, reconcile.CauseOrphanProcess} {
		m.leaks.WithLabelValues(string(cause))
	}
	// Counters exist from the start, at 0: an alert on their rate needs a
	// series before the first event.
	for _, kind := range reconcile.FindingKinds {
		m.findings.WithLabelValues(string(kind))
	}
	for _, op := range []reconcile.OpKind{reconcile.OpTerminate, reconcile.OpComplete, reconcile.OpRecount, reconcile.OpDedupe, reconcile.OpSync} {
		m.repairs.WithLabelValues(string(op))
	}
	for _, r := range []string{"killed", "gone", "session_killed", "failed", "skipped"} {
		m.kills.WithLabelValues(r)
	}
	return m
}

// observeSources sets agentwatch_sources from a scan: every registry and
// state database, in the state it was found in. A corrupt registry keeps a
// series that says so.
func (m *Metrics) observeSources(snap *Snapshot) {
	m.sources.Reset()
	set := func(source, kind, state string) {
		for _, s := range sourceStates {
			v := 0.0
			if s == state {
				v = 1
			}
			m.sources.WithLabelValues(source, kind, s).Set(v)
		}
	}
	for _, r := range snap.Input.Registries {
		set(r.Path, string(r.Kind), sourceState(r.Locked, r.Unreadable, r.Err))
	}
	for _, d := range snap.Input.Databases {
		set(d.Path, string(reconcile.KindState), sourceState(d.Locked, d.Unreadable, d.Err))
	}
}

// sourceState names the state a source was read in.
func sourceState(locked, unreadable bool, err error) string {
	switch {
	case locked:
		return sourceLocked
	case unreadable:
		return sourceUnreadable
	case err != nil:
		return sourceCorrupt
	}
	return sourceOK
}

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// Registry is the Prometheus registry the metrics live in.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// observeScan sets the gauges from one scan.
func (m *Metrics) observeScan(snap *Snapshot, rep reconcile.Report, err error) {
	if m == nil {
		return
	}
	m.scans.Inc()
	if err != nil {
		m.scanErrors.Inc()
		if errors.Is(err, registry.ErrLockBusy) {
			m.lockTimeouts.Inc()
		}
		return
	}
	m.scanDuration.Observe(snap.Duration.Seconds())
	m.lockTimeouts.Add(float64(len(snap.Locked())))
	m.observeSources(snap)
	for kind, n := range rep.Summary() {
		m.findings.WithLabelValues(string(kind)).Set(float64(n))
	}
	m.agents.Reset()
	for _, a := range rep.Agents {
		m.agents.WithLabelValues(a.Registry, a.Status).Inc()
	}
	if len(rep.Agents) == 0 { // a scan without live data: count from the registries
		for _, r := range rep.Registries {
			if r.Kind == reconcile.KindTask {
				m.agents.WithLabelValues(r.Path, "active").Add(float64(r.Active))
			}
		}
	}
	m.drift.Reset()
	for _, r := range snap.Input.Registries {
		fields := reconcile.TaskCounters
		if r.Kind == reconcile.KindGlobal {
			fields = reconcile.GlobalCounters
		}
		for _, f := range fields {
			if r.Root != nil && r.Root.Has(f) {
				m.drift.WithLabelValues(r.Path, f).Set(0)
			}
		}
	}
	ghosts := 0
	leaks := map[reconcile.Cause]int{}
	for _, f := range rep.Findings {
		switch f.Kind {
		case reconcile.FindDrift:
			if n, ok := recordedInt(f); ok {
				m.drift.WithLabelValues(f.Registry, f.Field).Set(float64(n - f.Actual))
			} else {
				m.drift.WithLabelValues(f.Registry, f.Field).Set(1)
			}
		case reconcile.FindGhost:
			ghosts++
		case reconcile.FindLeak:
			leaks[f.Cause]++
		}
	}
	m.ghosts.Set(float64(ghosts))
	for _, cause := range []reconcile.Cause{reconcile.CauseUntrackedSession, reconcile.CauseFinishedAgent, reconcile.CauseOrphanProcess} {
		m.leaks.WithLabelValues(string(cause)).Set(float64(leaks[cause]))
	}
	foreign := 0
	for _, p := range rep.Processes {
		if p.Claude && p.Verdict == reconcile.VerdictForeign {
			foreign++
		}
	}
	m.foreign.Set(float64(foreign))
	m.sessions.Reset()
	for _, s := range rep.Sessions {
		m.sessions.WithLabelValues(string(s.Verdict)).Inc()
	}
}

func recordedInt(f reconcile.Finding) (int64, bool) {
	v, err := pyjson.Parse(f.Recorded)
	if err != nil {
		return 0, false
	}
	return v.Int()
}

// observeResult counts what a repair or a kill did.
func (m *Metrics) observeResult(res *Result) {
	if m == nil {
		return
	}
	for _, c := range res.Commits {
		m.lockWait.Observe(c.LockWait.Seconds())
		if c.UnlockedWrite {
			m.unlockedWrite.Inc()
		}
	}
	for _, it := range res.Applied {
		switch it.Op.Op {
		case reconcile.OpKillProcess:
			m.kills.WithLabelValues(resultOf(it.New, "killed")).Inc()
		case reconcile.OpKillSession:
			m.kills.WithLabelValues("session_killed").Inc()
		default:
			m.repairs.WithLabelValues(string(it.Op.Op)).Inc()
		}
	}
	for _, it := range res.Failed {
		if it.LockBusy {
			m.lockTimeouts.Inc()
		}
		if it.Op.Op == reconcile.OpKillProcess || it.Op.Op == reconcile.OpKillSession {
			m.kills.WithLabelValues("failed").Inc()
		}
	}
	for _, it := range res.Skipped {
		if it.Op.Op == reconcile.OpKillProcess {
			m.kills.WithLabelValues("skipped").Inc()
		}
	}
}

func resultOf(raw []byte, def string) string {
	if len(raw) > 2 && raw[0] == '"' {
		return string(raw[1 : len(raw)-1])
	}
	return def
}
