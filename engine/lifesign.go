package engine

import (
	"os"
	"path/filepath"

	"agentwatch/reconcile"
	"agentwatch/registry"
)

// readLogTimes notes when the stream log of every active agent whose
// session is alive last changed: an agent's last sign of life is the
// latest of its last_update, its last progress report and its stream log
// (agents that never report still write their stream), and whether it is
// stale is measured from it. Only a stat per such agent: no log is read.
func (e *Engine) readLogTimes(in *reconcile.Input, live map[string]bool) {
	stat := func(paths ...string) {
		for _, p := range paths {
			if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
				id := filepath.Base(p)
				id = id[:len(id)-len("_stream.jsonl")]
				if prev, ok := in.Live.LogModified[id]; !ok || fi.ModTime().After(prev) {
					in.Live.LogModified[id] = fi.ModTime()
				}
				return
			}
		}
	}
	for _, r := range in.Registries {
		if r.Kind != reconcile.KindTask || r.Root == nil {
			continue
		}
		for _, a := range e.activeAgents(r) {
			if !live[reconcile.TmuxName(a.session)] && !live[a.session] {
				continue
			}
			logs := registry.StreamLogPath(r.Path, a.id)
			stat(logs, filepath.Join(filepath.Dir(filepath.Dir(logs)), "archive", filepath.Base(logs)))
		}
	}
	for _, d := range in.Databases {
		if d.State == nil {
			continue
		}
		for _, a := range d.State.Agents {
			if e.cfg.Sets.Classify(a.Status) != registry.StatusActive || !live[sessionOf(a)] {
				continue
			}
			if _, ok := in.Live.LogModified[a.ID]; ok {
				continue
			}
			if p, fi := streamLog(d.Base, a.TaskID, a.ID); p != "" {
				in.Live.LogModified[a.ID] = fi.ModTime()
			}
		}
	}
}
