package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"agentwatch/registry"
	"agentwatch/registry/pyjson"
)

// RestoreCandidate is bytes that would mend a corrupt registry, and where
// they come from.
type RestoreCandidate struct {
	Source string // "journal", "salvage" or "backup"
	Detail string
	Data   []byte
}

// ErrNotCorrupt means the registry parses: restore has nothing to mend.
var ErrNotCorrupt = errors.New("the registry parses; there is nothing to restore (see `agentwatch undo` to put back agentwatch's last change)")

// PlanRestore reads a registry and finds the best way to mend it: the bytes
// of a journal that agentwatch left when it crashed mid-write, the complete
// document at the front of a file with trailing garbage, or the newest
// backup that parses. from ("", "journal", "salvage", "backup") limits the
// choice. It returns the current bytes too, for the preview.
func (e *Engine) PlanRestore(ctx context.Context, path, from string) (cur []byte, cand *RestoreCandidate, err error) {
	s, err := e.cfg.Store.Read(ctx, path)
	if s == nil {
		return nil, nil, err
	}
	if s.ParseErr == nil {
		return s.Data, nil, ErrNotCorrupt
	}
	var tried []string
	if from == "" || from == "journal" {
		j, jerr := registry.ReadJournal(ctx, path)
		switch {
		case jerr == nil && parses(j.Data):
			return s.Data, &RestoreCandidate{Source: "journal", Detail: "the new bytes of agentwatch's unfinished write", Data: j.Data}, nil
		case jerr == nil:
			tried = append(tried, "journal: its bytes do not parse either")
		case errors.Is(jerr, fs.ErrNotExist):
			tried = append(tried, "journal: none beside it (agentwatch was not interrupted while writing it)")
		default:
			tried = append(tried, "journal: "+jerr.Error())
		}
	}
	if from == "" || from == "salvage" {
		kept, dropped, serr := registry.Salvage(s.Data)
		if serr == nil {
			serr = inShape(path, kept)
		}
		if serr == nil {
			return s.Data, &RestoreCandidate{Source: "salvage", Detail: fmt.Sprintf("the complete document at the front, dropping %d trailing bytes", dropped), Data: kept}, nil
		}
		tried = append(tried, "salvage: "+strings.TrimPrefix(serr.Error(), "salvage: "))
	}
	if from == "" || from == "backup" {
		backups, berr := e.cfg.Store.Backups(ctx, path)
		if errors.Is(berr, fs.ErrNotExist) {
			backups, berr = nil, nil
		}
		if berr != nil {
			tried = append(tried, "backups: "+berr.Error())
		}
		for _, b := range backups {
			data, rerr := os.ReadFile(b.Path)
			if rerr == nil && parses(data) {
				return s.Data, &RestoreCandidate{Source: "backup", Detail: "backup of " + b.Time.Format(time.RFC3339), Data: data}, nil
			}
		}
		switch {
		case berr == nil && len(backups) == 0:
			tried = append(tried, fmt.Sprintf("backups: no backup of %s exists in %s; nothing to restore from", path, e.cfg.Store.StateDir))
		case berr == nil:
			tried = append(tried, fmt.Sprintf("backups: not one of its %d backups in %s parses", len(backups), e.cfg.Store.StateDir))
		}
	}
	return s.Data, nil, fmt.Errorf("restore %s: nothing can mend it automatically; edit it by hand (its bytes are untouched):\n  %s", path, strings.Join(tried, "\n  "))
}

// inShape checks that salvaged bytes are a registry of the file's kind, not
// merely some JSON value (a lone "0" at the front of a torn file parses).
func inShape(path string, data []byte) error {
	v, err := pyjson.Parse(data)
	if err != nil {
		return err
	}
	switch filepath.Base(path) {
	case "GLOBAL_REGISTRY.json":
		_, err = registry.NewGlobalFile(v)
	default:
		_, err = registry.NewTaskFile(v)
	}
	if err == nil && v.Len() == 0 {
		err = errors.New("an empty object")
	}
	if err != nil {
		return fmt.Errorf("salvage: the complete value at the front is not a registry (%v)", err)
	}
	return nil
}

func parses(data []byte) bool {
	_, err := pyjson.Parse(data)
	return err == nil
}

// Restore writes a restore candidate over a corrupt registry, provided the
// file still holds the bytes the preview showed. The corrupt bytes go to the
// backups like any old bytes.
func (e *Engine) Restore(ctx context.Context, path string, previewed []byte, cand *RestoreCandidate) (*registry.Commit, error) {
	commit, err := e.cfg.Store.TransformCorrupt(ctx, path, func(cur *registry.Snapshot) (registry.Change, error) {
		if cur.ParseErr == nil {
			return registry.Keep(), nil // mended meanwhile (a journal recovery, or a writer)
		}
		if !bytes.Equal(cur.Data, previewed) {
			return registry.Keep(), fmt.Errorf("restore %s: the file changed since the preview; run restore again", path)
		}
		return registry.Write(cand.Data), nil
	})
	entry := Entry{Action: "restore", Targets: []string{path + " from " + cand.Source}, Result: "ok"}
	if commit != nil {
		entry.Files = changesOf([]*registry.Commit{commit}, nil)
		if !commit.Changed {
			entry.Result = "nothing"
		}
	}
	if err != nil {
		entry.Result, entry.Error = "failed", err.Error()
	}
	if aerr := e.cfg.Audit.Append(ctx, entry); err == nil {
		err = aerr
	}
	return commit, err
}
