package main

// check --json: the object scripts rely on, its shapes and its stream.

import (
	"io"

	"agentwatch/engine"
	"agentwatch/reconcile"
	"agentwatch/registry"
)

// registryJSON is one registry of `check --json`: its summary, and whether
// its lock stayed busy for the whole --lock-timeout (its state unknown).
type registryJSON struct {
	reconcile.RegistrySummary
	Locked bool `json:"locked"`
}

type workspaceJSON struct {
	Path    string `json:"path"`
	FoundBy string `json:"found_by"`
	// Era is "sqlite" for a base with a state database, "json" otherwise.
	Era string `json:"era"`
}

type serverJSON struct {
	Socket   string `json:"socket"`
	Why      string `json:"why"`
	Running  bool   `json:"running"`
	Sessions int    `json:"sessions"`
	Error    string `json:"error,omitempty"`
}

type sessionJSON struct {
	Name    string  `json:"name"`
	Server  string  `json:"server"`
	AgentID string  `json:"agent_id"`
	Verdict string  `json:"verdict"`
	Cause   string  `json:"cause,omitempty"`
	Reason  string  `json:"reason"`
	PIDs    []int32 `json:"pids"`
}

type processJSON struct {
	PID     int32  `json:"pid"`
	PPID    int32  `json:"ppid"`
	Comm    string `json:"comm"`
	Cmdline string `json:"cmdline"`
	Session string `json:"session"`
	SID     int32  `json:"sid"`
	Claude  bool   `json:"claude"`
	AgentID string `json:"agent_id"`
	Verdict string `json:"verdict"`
	Cause   string `json:"cause,omitempty"`
	Reason  string `json:"reason"`
}

func serversOf(snap *engine.Snapshot) []serverJSON {
	out := []serverJSON{}
	if snap.Input.Live == nil {
		return out
	}
	for _, s := range snap.Input.Live.Servers {
		j := serverJSON{Socket: s.Socket.String(), Why: s.Why}
		if s.Err != nil {
			j.Error = s.Err.Error()
		}
		if s.Snapshot != nil {
			j.Running = s.Snapshot.Running
			j.Sessions = len(s.Snapshot.Sessions())
		}
		out = append(out, j)
	}
	return out
}

// writeCheckJSON prints the object `check --json` prints, the contract
// scripts rely on: its fields are healthy, summary, workspaces, servers,
// registries, agents, sessions, processes and findings, in this order. The
// object is streamed (see jsonStream): on 10,000 agents, a copy of every row
// and the whole 3.5 MB encoded text raised the command's peak memory by a
// quarter, from about 62 MB (plain check) to 78.
func writeCheckJSON(w io.Writer, eng *engine.Engine, snap *engine.Snapshot, rep reconcile.Report) error {
	return streamCheckJSON(w, isTTY(w), eng.Bases(), snap, rep)
}

// lockedSources are the registries and databases whose lock stayed busy.
func lockedSources(snap *engine.Snapshot) map[string]bool {
	locked := map[string]bool{}
	for _, r := range snap.Locked() {
		locked[r.Path] = true
	}
	for _, d := range snap.Input.Databases {
		if d.Locked {
			locked[d.Path] = true
		}
	}
	return locked
}

// streamCheckJSON is writeCheckJSON, indented or not as asked.
func streamCheckJSON(w io.Writer, indent bool, bases []registry.Base, snap *engine.Snapshot, rep reconcile.Report) error {
	locked := lockedSources(snap)
	// No base prints null, as it always has.
	var workspaces []workspaceJSON
	for _, b := range bases {
		workspaces = append(workspaces, workspaceJSON{Path: b.Dir, FoundBy: b.Source, Era: registry.Era(b.Dir)})
	}

	s := newJSONStream(w, indent)
	s.field("healthy", rep.Healthy() && len(locked) == 0)
	s.field("summary", rep.Summary())
	s.field("workspaces", workspaces)
	s.field("servers", serversOf(snap))
	s.array("registries", len(rep.Registries), func(i int) any {
		r := rep.Registries[i]
		return registryJSON{RegistrySummary: r, Locked: locked[r.Path]}
	})
	s.array("agents", len(rep.Agents), func(i int) any { return agentOut{&rep.Agents[i]} })
	s.array("sessions", len(rep.Sessions), func(i int) any {
		r := &rep.Sessions[i]
		pids := r.PIDs
		if pids == nil {
			pids = []int32{}
		}
		return sessionJSON{Name: r.Name, Server: r.Server, AgentID: r.AgentID,
			Verdict: string(r.Verdict), Cause: string(r.Cause), Reason: r.Reason, PIDs: pids}
	})
	s.array("processes", len(rep.Processes), func(i int) any {
		p := &rep.Processes[i]
		return processJSON{PID: p.PID, PPID: p.PPID, Comm: p.Comm, Cmdline: p.Cmdline,
			Session: p.Session, SID: p.SID, Claude: p.Claude, AgentID: p.AgentID, Verdict: string(p.Verdict), Cause: string(p.Cause), Reason: p.Reason}
	})
	s.array("findings", len(rep.Findings), func(i int) any { return rep.Findings[i] })
	return s.close()
}

// agentOut is an agent's row as `check --json` prints it, written without
// reflection: agent_id, task_id, registry, status, tmux_session, verdict,
// cause (when there is one), reason, pids (the tests hold it to
// encoding/json's text of the same fields).
type agentOut struct{ a *reconcile.AgentRow }

func (r agentOut) appendJSON(dst []byte, depth int, indent bool) []byte {
	a := r.a
	o := openJSONObject(dst, depth, indent)
	o.str("agent_id", a.ID)
	o.str("task_id", a.TaskID)
	o.str("registry", a.Registry)
	o.str("status", a.Status)
	o.str("tmux_session", a.Session)
	o.str("verdict", string(a.Verdict))
	if a.Cause != "" {
		o.str("cause", string(a.Cause))
	}
	o.str("reason", a.Reason)
	o.ints("pids", a.PIDs)
	return o.close()
}
