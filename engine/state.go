package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"agentwatch/procscan"
	"agentwatch/reconcile"
	"agentwatch/registry"
	"agentwatch/statedb"
)

// defaultDBTimeout is how long a scan waits for a busy state database.
const defaultDBTimeout = 2 * time.Second

// readDatabase reads a base's state database; false when the base has none
// (a base of the JSON era).
func (e *Engine) readDatabase(ctx context.Context, base string) (reconcile.Database, bool) {
	path := statedb.PathOf(base)
	if _, err := os.Lstat(path); errors.Is(err, fs.ErrNotExist) {
		return reconcile.Database{}, false
	}
	timeout := defaultDBTimeout
	if t := e.cfg.Store.ReadTimeout; t > 0 && t < timeout {
		timeout = t
	}
	d := reconcile.Database{Path: path, Base: base}
	d.State, d.Err = statedb.Read(ctx, path, statedb.ReadOptions{BusyTimeout: timeout})
	switch {
	case d.Err == nil:
	case errors.Is(d.Err, statedb.ErrBusy):
		d.Locked = true
	case errors.Is(d.Err, statedb.ErrNotDatabase), errors.Is(d.Err, statedb.ErrNoAgentsTable):
		// corrupt: reported as such, never written
	default:
		d.Unreadable = true
	}
	if d.Err != nil {
		d.State = nil
	}
	return d, true
}

// markPaneAgents marks as agents the processes that an orchestrator pane's
// shell pipes into its stream log, whatever their names: the native
// installer's claude is named by its version, and a design agent is
// gemini. Their panes' working directories are read too: they tie a pane
// to its project.
func markPaneAgents(lv *reconcile.Live) {
	t := lv.Procs
	for _, s := range lv.Servers {
		if s.Snapshot == nil {
			continue
		}
		for _, p := range s.Snapshot.Panes {
			shell := int32(p.PanePID)
			for _, pid := range procscan.PaneAgents(t, shell) {
				lv.Claude[pid] = true
			}
			if cwd, err := os.Readlink("/proc/" + strconv.Itoa(int(shell)) + "/cwd"); err == nil {
				lv.Cwd[shell] = cwd
			}
		}
	}
}

// paneBases finds the workspace bases that live agent panes name (the path
// of their stream logs) and that are not among the engine's bases yet.
func (e *Engine) paneBases(ctx context.Context, lv *reconcile.Live, known []registry.Base) []registry.Base {
	have := map[string]bool{}
	for _, b := range known {
		have[filepath.Clean(b.Dir)] = true
		have[realPath(b.Dir)] = true
	}
	var out []registry.Base
	for _, s := range lv.Servers {
		// A server found only through a claude's TMUX may be anyone's:
		// its panes name no base to judge.
		if s.Snapshot == nil || s.Followed {
			continue
		}
		for _, p := range s.Snapshot.Panes {
			shell := lv.Procs.Procs[int32(p.PanePID)]
			if shell == nil {
				continue
			}
			texts := append([]string{}, shell.Argv...)
			for _, c := range lv.Procs.Children[shell.PID] {
				if cp := lv.Procs.Procs[c]; cp != nil {
					texts = append(texts, cp.Argv...)
				}
			}
			for _, dir := range reconcile.BasesNamedIn(texts...) {
				if have[dir] || have[realPath(dir)] || !registry.IsBase(ctx, dir) {
					continue
				}
				have[dir], have[realPath(dir)] = true, true
				out = append(out, registry.Base{Dir: dir, Source: "named by the pane of tmux session " + p.Session})
			}
		}
	}
	return out
}

// streamLog finds an agent's stream log in its task directory: logs/, or
// archive/ where the orchestrator moves it once the agent is done.
func streamLog(base, taskID, agentID string) (string, os.FileInfo) {
	for _, dir := range []string{"logs", "archive"} {
		p := filepath.Join(base, taskID, dir, agentID+"_stream.jsonl")
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
			return p, fi
		}
	}
	return "", nil
}

// readStateEvidence reads the stream logs of the agents of the state
// databases whose verdict depends on them: an active agent whose session is
// on no scanned server (does its log end with a result, and is that an
// error?), and a terminal one whose session still runs (did it finish, or
// is its log still growing?).
func readStateEvidence(in *reconcile.Input, live map[string]bool, sets registry.StatusSets) {
	for _, d := range in.Databases {
		if d.State == nil {
			continue
		}
		for _, a := range d.State.Agents {
			session := sessionOf(a)
			class := sets.Classify(a.Status)
			if !(class == registry.StatusActive && !live[session]) && !(class == registry.StatusTerminal && live[session]) {
				continue
			}
			p, fi := streamLog(d.Base, a.TaskID, a.ID)
			if p == "" {
				continue
			}
			in.Live.LogModified[a.ID] = fi.ModTime()
			if found, isErr := lastResult(p); found {
				in.Live.Evidence[a.ID] = true
				if isErr {
					in.Live.EvidenceError[a.ID] = true
				}
			}
		}
	}
}

// sessionOf is the tmux session of an agent row, in the form tmux gives
// a session's name.
func sessionOf(a statedb.Agent) string {
	if a.TmuxSession == "" {
		return reconcile.TmuxName("agent_" + a.ID)
	}
	return reconcile.TmuxName(a.TmuxSession)
}

// lastResult reports whether a stream log's last line is a JSON object
// whose type is "result" (claude finished its work), and whether that
// result says is_error.
func lastResult(path string) (found, isError bool) {
	f, err := os.Open(path)
	if err != nil {
		return false, false
	}
	defer f.Close()
	const tail = 256 << 10
	if st, err := f.Stat(); err == nil && st.Size() > tail {
		f.Seek(st.Size()-tail, io.SeekStart)
	}
	data, err := io.ReadAll(io.LimitReader(f, tail))
	if err != nil {
		return false, false
	}
	data = bytes.TrimRight(data, "\r\n\t ")
	if i := bytes.LastIndexByte(data, '\n'); i >= 0 {
		data = data[i+1:]
	}
	var line struct {
		Type    string `json:"type"`
		IsError bool   `json:"is_error"`
	}
	if json.Unmarshal(data, &line) != nil || line.Type != "result" {
		return false, false
	}
	return true, line.IsError
}

// RowChange is one agent row that a repair changed in a state database:
// what it held before and what agentwatch wrote, for undo.
type RowChange struct {
	Database string        `json:"database"`
	Before   statedb.Image `json:"before"`
	After    statedb.Image `json:"after"`
}

// applyState runs the plan's operations on state databases: for each
// ghost, asked about once more, one guarded transaction on its row.
func (e *Engine) applyState(ctx context.Context, snap *Snapshot, ops []reconcile.Op, now time.Time, res *Result) {
	stamp := registry.FormatTimestamp(now)
	for _, op := range ops {
		if op.Session != "" {
			alive, err := e.SessionAlive(ctx, snap, op.Session)
			if err != nil {
				op.Why = err.Error()
				res.Failed = append(res.Failed, Item{Op: op})
				continue
			}
			if alive {
				op.Why = "its session " + op.Session + " is alive again"
				res.Skipped = append(res.Skipped, Item{Op: op})
				continue
			}
		}
		var from, to string
		json.Unmarshal(op.Expect, &from)
		json.Unmarshal(op.New, &to)
		msg := fmt.Sprintf("Status changed from %s to %s by agentwatch: its tmux session %s is gone", from, to, op.Session)
		before, after, err := statedb.Apply(ctx, op.Registry, statedb.Repair{AgentID: op.AgentID, TaskID: op.TaskID,
			From: from, To: to, Now: stamp, Message: msg}, e.cfg.Store.LockTimeout)
		switch {
		case errors.Is(err, statedb.ErrChanged):
			op.Why = fmt.Sprintf("its status is no longer %q: someone changed it since the plan", from)
			res.Skipped = append(res.Skipped, Item{Op: op})
		case err != nil:
			op.Why = err.Error()
			res.Failed = append(res.Failed, Item{Op: op, LockBusy: errors.Is(err, statedb.ErrBusy)})
		default:
			res.Applied = append(res.Applied, Item{Op: op})
			res.Rows = append(res.Rows, RowChange{Database: op.Registry, Before: before, After: after})
		}
	}
}

// UndoRow is one agent row an undo puts back.
type UndoRow struct {
	RowChange
}

// undoRows puts back the rows of an action, each under its own guard: a
// row the orchestrator changed since is kept as it is, and said so. The
// changes made are returned as the undo's own rows (so it can be undone).
func (e *Engine) undoRows(ctx context.Context, rows []RowChange) ([]UndoOutcome, []RowChange) {
	var outs []UndoOutcome
	var done []RowChange
	for _, r := range rows {
		target := r.Database + " agent " + r.After.AgentID
		restored, why, err := statedb.Undo(ctx, r.Database, r.Before, r.After, e.cfg.Store.LockTimeout)
		out := UndoOutcome{Path: target}
		switch {
		case err != nil:
			out.Reason, out.Busy = err.Error(), errors.Is(err, statedb.ErrBusy)
		case !restored:
			// Someone changed the row since: it is kept as they wrote it,
			// as a field of a registry would be.
			out.Done = true
			out.Kept = []string{"agent " + r.After.AgentID + " in " + r.Database + ": " + why + ": kept"}
		default:
			out.Done = true
			done = append(done, RowChange{Database: r.Database, Before: r.After, After: r.Before})
		}
		outs = append(outs, out)
	}
	return outs, done
}

// DiscoverFromPanes scans tmux and the process table once for workspace
// bases that live agent panes name, and adds them; false when none is
// found. It serves a discovery that found no base by its other rules.
func (e *Engine) DiscoverFromPanes(ctx context.Context) (bool, error) {
	lv, err := e.gatherLive(ctx)
	if err != nil {
		return false, err
	}
	found := e.paneBases(ctx, lv, e.Bases())
	for _, b := range found {
		e.addBase(b)
	}
	return len(found) > 0, nil
}
