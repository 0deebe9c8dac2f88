package engine

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"agentwatch/registry"
	"agentwatch/registry/pyjson"
)

// ErrNothingToUndo means the audit log holds no action that changed a
// registry.
var ErrNothingToUndo = errors.New("nothing to undo: the audit log holds no repair, undo or restore that changed a registry")

// ErrChangedSince means a registry changed after agentwatch wrote it, so
// putting back the older bytes would roll someone else's change back.
var ErrChangedSince = errors.New("changed since by someone else")

// UndoFile is one registry an undo puts back.
type UndoFile struct {
	FileChange
	// Current is the file's bytes now; Restore the bytes to put back. For
	// an action whose fields are recorded, Restore is Current with those
	// fields put back that still hold what agentwatch wrote (Current
	// itself when none does); under the lock the undo derives it again.
	Current []byte
	Restore []byte
	// Conflict says why putting it back would lose someone else's change,
	// or that it cannot be done; empty when it is safe.
	Conflict string
	// Kept says, for each recorded field that someone changed since
	// agentwatch wrote it, that the undo leaves it as it is and why.
	Kept []string
}

// ByField reports whether the file is put back field by field (its action
// recorded the fields it changed) rather than whole.
func (f UndoFile) ByField() bool { return len(f.Fields) > 0 }

// UndoPlan is what `undo` would do: put back each file the last repair,
// undo or restore changed.
type UndoPlan struct {
	Entry Entry
	Files []UndoFile
	// Rows are the state-database rows to put back, each under the guard
	// of what agentwatch wrote (see statedb.Undo).
	Rows []RowChange
}

// PlanUndo looks up the newest undoable action and what undoing it means
// for each file it changed, now. An engine given workspaces looks up the
// newest action that changed a registry of theirs, so that the TUI on one
// workspace does not undo a later repair of another; the action is undone
// whole, and the plan lists every file it changed, on whatever workspace.
func (e *Engine) PlanUndo(ctx context.Context) (*UndoPlan, error) {
	var within []string
	for _, b := range e.cfg.Bases {
		within = append(within, b.Dir)
	}
	last, err := e.cfg.Audit.LastUndoable(ctx, within...)
	if err != nil {
		return nil, err
	}
	if last == nil {
		return nil, ErrNothingToUndo
	}
	up := &UndoPlan{Entry: *last, Rows: last.Rows}
	for _, fc := range last.Files {
		if len(fc.Fields) > 0 {
			up.Files = append(up.Files, e.planFieldUndo(ctx, fc))
		} else {
			up.Files = append(up.Files, e.planWholeUndo(ctx, fc))
		}
	}
	return up, nil
}

// planFieldUndo previews putting back the fields an action changed in one
// file, on the file as it is now.
func (e *Engine) planFieldUndo(ctx context.Context, fc FileChange) UndoFile {
	uf := UndoFile{FileChange: fc}
	s, err := e.cfg.Store.Read(ctx, fc.Path)
	switch {
	case s != nil && s.Root != nil:
		root := s.Root.Clone()
		kept, changed := undoFields(root, fc.Fields)
		uf.Current, uf.Restore, uf.Kept = s.Data, s.Data, kept
		if changed {
			uf.Restore = pyjson.Encode(root)
		}
	case s != nil:
		uf.Current = s.Data
		uf.Conflict = "it does not parse now; see `agentwatch restore --registry " + fc.Path + "`"
	case errors.Is(err, fs.ErrNotExist):
		uf.Conflict = "it no longer exists, and agentwatch never creates a registry: there is nothing to put back"
	default:
		uf.Conflict = fmt.Sprintf("cannot read it: %v", err)
	}
	return uf
}

// planWholeUndo previews putting back a whole file from its backup: the
// undo of an action recorded before agentwatch recorded fields.
func (e *Engine) planWholeUndo(ctx context.Context, fc FileChange) UndoFile {
	uf := UndoFile{FileChange: fc}
	old, err := os.ReadFile(fc.Backup)
	switch {
	case err != nil:
		uf.Conflict = fmt.Sprintf("its backup is gone (%v); see `agentwatch restore --registry %s`", err, fc.Path)
	case registry.HashBytes(old) != fc.Before:
		uf.Conflict = "its backup does not hold the bytes it had before (hash differs)"
	case !parses(old):
		uf.Conflict = "it did not parse before (a restore mended it); its corrupt bytes are kept in " + fc.Backup + ", and agentwatch does not write corrupt bytes back"
	default:
		uf.Restore = old
	}
	s, err := e.cfg.Store.Read(ctx, fc.Path)
	switch {
	case s != nil:
		uf.Current = s.Data
		if uf.Conflict == "" && s.Hash != fc.After {
			uf.Conflict = ErrChangedSince.Error() + " after agentwatch wrote it"
		}
	case errors.Is(err, fs.ErrNotExist):
		// Not even --force puts it back: a registry is never created.
		uf.Restore = nil
		uf.Conflict = "it no longer exists, and agentwatch never creates a registry: there is nothing to put back"
	case uf.Conflict == "":
		uf.Conflict = fmt.Sprintf("cannot read it: %v", err)
	}
	return uf
}

// UndoOutcome is what an undo did to one file.
type UndoOutcome struct {
	Path   string
	Done   bool
	Reason string
	Busy   bool
	// Kept lists the fields left as they are, each with why.
	Kept []string
}

// Undo puts back the files of an undo plan, each in its own transaction.
//
// A file whose action recorded its fields gets back exactly the fields
// agentwatch changed, each only where it still holds the value agentwatch
// wrote: the fields are put back in the bytes read under the lock, never
// by writing older bytes, and every field someone changed since is kept
// and reported. Such a partial undo is the normal case, not a failure.
//
// The files of an action recorded before that are put back whole, all or
// nothing: a file that changed since is refused unless force is set, a
// file whose backup is gone is refused always, and then no file is put
// back — so a half undo never becomes the next thing undo undoes.
//
// The undo is journaled and audited like a repair, its fields recorded,
// so it can itself be undone.
func (e *Engine) Undo(ctx context.Context, up *UndoPlan, force bool) ([]UndoOutcome, error) {
	var outs []UndoOutcome
	var commits []*registry.Commit
	fields := map[string][]FieldChange{}
	var blocked []string
	forceable := true // every refusal is one that --force overrides
	for _, f := range up.Files {
		if !f.ByField() && (f.Restore == nil || (f.Conflict != "" && !force)) {
			blocked = append(blocked, f.Path)
			forceable = forceable && f.Restore != nil
		}
	}
	if len(blocked) > 0 {
		for _, f := range up.Files {
			out := UndoOutcome{Path: f.Path, Reason: f.Conflict}
			switch {
			case f.Restore != nil && f.Conflict != "" && forceable:
				out.Reason += "; `undo --force` puts it back anyway"
			case f.Conflict == "":
				out.Reason = "not put back: undo is all or nothing, and " + strings.Join(blocked, ", ") + " was refused"
			}
			outs = append(outs, out)
		}
		var reasons []string
		for _, o := range outs {
			reasons = append(reasons, o.Path+": "+o.Reason)
		}
		entry := Entry{Action: "undo", Targets: blocked, Result: "failed", Error: "refused: " + strings.Join(reasons, "; ")}
		return outs, e.cfg.Audit.Append(ctx, entry)
	}
	for _, f := range up.Files {
		var out UndoOutcome
		var commit *registry.Commit
		if f.ByField() {
			out, commit = e.undoByField(ctx, f, fields)
		} else {
			out, commit = e.undoWhole(ctx, f, force, fields)
		}
		if commit != nil {
			commits = append(commits, commit)
		}
		outs = append(outs, out)
	}
	rowOuts, rows := e.undoRows(ctx, up.Rows)
	outs = append(outs, rowOuts...)
	entry := Entry{Action: "undo", Files: changesOf(commits, fields), Rows: rows, Result: "ok"}
	failed := 0
	for _, o := range outs {
		entry.Targets = append(entry.Targets, o.Path)
		entry.Kept = append(entry.Kept, o.Kept...)
		if !o.Done {
			failed++
			entry.Error = strings.TrimPrefix(entry.Error+"; "+o.Path+": "+o.Reason, "; ")
		}
	}
	switch {
	case failed == len(outs):
		entry.Result = "failed"
	case failed > 0 || len(entry.Kept) > 0:
		entry.Result = "partial"
	}
	return outs, e.cfg.Audit.Append(ctx, entry)
}

// undoByField puts back, under the lock, the recorded fields of one file
// that still hold what agentwatch wrote, and notes in fields what it
// changed.
func (e *Engine) undoByField(ctx context.Context, f UndoFile, fields map[string][]FieldChange) (UndoOutcome, *registry.Commit) {
	out := UndoOutcome{Path: f.Path}
	if f.Restore == nil {
		out.Reason = f.Conflict
		return out, nil
	}
	var old []byte
	var next *pyjson.Spliced
	commit, err := e.cfg.Store.Transform(ctx, f.Path, func(cur *registry.Snapshot) (registry.Change, error) {
		var changed bool
		out.Kept, changed = undoFields(cur.Root, f.Fields)
		old, next = nil, nil
		if !changed {
			return registry.Keep(), nil
		}
		old, next = cur.Data, pyjson.EncodeSpliced(cur.Root, cur.Data)
		return registry.WriteSpliced(next), nil
	})
	noteFields(fields, commit, old, next)
	switch {
	case err != nil:
		out.Kept = nil
		out.Reason = err.Error()
		out.Busy = errors.Is(err, registry.ErrLockBusy)
	case !commit.Changed && len(out.Kept) > 0:
		out.Done, out.Reason = true, "nothing put back: every field agentwatch wrote was changed since by someone else"
	case !commit.Changed:
		out.Done, out.Reason = true, "already as it was"
	default:
		out.Done = true
	}
	return out, commit
}

// undoWhole writes a file's backup back over it: the undo of an action
// recorded before agentwatch recorded fields. What it changed is noted in
// fields, field by field, so that its own undo is by field.
func (e *Engine) undoWhole(ctx context.Context, f UndoFile, force bool, fields map[string][]FieldChange) (UndoOutcome, *registry.Commit) {
	out := UndoOutcome{Path: f.Path}
	if f.Restore == nil {
		out.Reason = f.Conflict
		return out, nil
	}
	var old []byte
	transform := e.cfg.Store.Transform
	if force {
		transform = e.cfg.Store.TransformCorrupt
	}
	commit, err := transform(ctx, f.Path, func(cur *registry.Snapshot) (registry.Change, error) {
		if cur.Hash != f.After && !force {
			return registry.Keep(), fmt.Errorf("%w after agentwatch wrote it; `undo --force` puts it back anyway", ErrChangedSince)
		}
		old = cur.Data
		return registry.Write(f.Restore), nil
	})
	noteFields(fields, commit, old, pyjson.SplicedOf(f.Restore))
	switch {
	case err != nil:
		out.Reason = err.Error()
		out.Busy = errors.Is(err, registry.ErrLockBusy)
	case !commit.Changed:
		out.Done, out.Reason = true, "already as it was"
	default:
		out.Done = true
	}
	return out, commit
}
