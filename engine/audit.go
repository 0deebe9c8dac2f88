package engine

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"agentwatch/registry"
	"agentwatch/registry/pyjson"
)

// Audit is the append-only log of every repair, kill, undo and restore, one
// JSON object per line, in the state directory.
type Audit struct {
	Path string
}

// NewAudit returns the audit log in stateDir.
func NewAudit(stateDir string) *Audit {
	return &Audit{Path: filepath.Join(stateDir, "audit.jsonl")}
}

// FileChange is one registry file an action changed.
type FileChange struct {
	Path string `json:"path"`
	// Before and After are the hashes of the file's bytes.
	Before string `json:"before"`
	After  string `json:"after"`
	// Backup holds the bytes as they were before.
	Backup string `json:"backup,omitempty"`
	// Fields are the fields the action changed, each with its JSON text
	// before and after, so that undo puts back those fields alone. Entries
	// written before agentwatch recorded them have none: undo then puts
	// the whole file back, as it did then.
	Fields []FieldChange `json:"fields,omitempty"`
}

// Entry is one line of the audit log.
type Entry struct {
	Time    time.Time    `json:"time"`
	User    string       `json:"user"`
	PID     int          `json:"pid"`
	Action  string       `json:"action"`
	Targets []string     `json:"targets,omitempty"`
	Result  string       `json:"result"`
	Files   []FileChange `json:"registries,omitempty"`
	// Rows are the agent rows an action changed in state databases.
	Rows []RowChange `json:"rows,omitempty"`
	Ops  []Item      `json:"ops,omitempty"`
	// Kept lists, for an undo, the fields it left as someone changed them.
	Kept []string `json:"kept,omitempty"`
	// Raced lists the registries whose bytes a writer that takes no lock
	// changed while agentwatch held the lock: that writer's change, or
	// agentwatch's, may be lost.
	Raced []string `json:"raced,omitempty"`
	Error string   `json:"error,omitempty"`
}

// Actions whose file changes `undo` can put back.
var undoable = map[string]bool{"repair": true, "undo": true, "restore": true}

func currentUser() string {
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return strconv.Itoa(os.Getuid())
}

// Append writes one entry. The time, user and PID are filled in when zero.
// It writes even when ctx is already cancelled (an interrupted repair): an
// action that was done must be recorded, or undo cannot reach it.
func (a *Audit) Append(_ context.Context, e Entry) error {
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	if e.User == "" {
		e.User = currentUser()
	}
	if e.PID == 0 {
		e.PID = os.Getpid()
	}
	line, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("audit log: %w", err)
	}
	// The state directory is agentwatch's own, and the log is never
	// reached through a link someone planted.
	if err := registry.PrivateDir(filepath.Dir(a.Path)); err != nil {
		return fmt.Errorf("audit log: %w", err)
	}
	f, err := registry.OpenOwnAppend(a.Path)
	if err != nil {
		return fmt.Errorf("audit log: %w", err)
	}
	defer f.Close()
	// One write of one line: O_APPEND keeps concurrent writers' lines whole.
	if _, err := f.Write(append(line, '\n')); err != nil {
		return fmt.Errorf("audit log: %w", err)
	}
	return f.Sync()
}

// Entries reads the whole log, oldest first. Lines that do not parse (a
// torn last line) are skipped.
func (a *Audit) Entries(ctx context.Context) ([]Entry, error) {
	data, err := os.ReadFile(a.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read audit log: %w", err)
	}
	var out []Entry
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		var e Entry
		if json.Unmarshal(sc.Bytes(), &e) == nil {
			out = append(out, e)
		}
	}
	return out, sc.Err()
}

// auditTailBlock is how much of the audit log's end Last reads at a time.
const auditTailBlock = 64 << 10

// Last returns the newest entry of the given action, or nil. It reads the
// log from its end, a block at a time, so that `check` finds the last
// repair without reading a long log whole.
func (a *Audit) Last(ctx context.Context, action string) (*Entry, error) {
	f, err := os.Open(a.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read audit log: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("read audit log: %w", err)
	}
	var tail []byte // the bytes from the block read last to the end
	for end := fi.Size(); ; {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		// Every whole line in tail, newest first; the first, which may be
		// cut, waits for the next block unless the file starts there.
		lines := bytes.Split(tail, []byte("\n"))
		first := 1
		if end == 0 {
			first = 0
		}
		for i := len(lines) - 1; i >= first; i-- {
			var e Entry
			if json.Unmarshal(lines[i], &e) == nil && e.Action == action {
				return &e, nil
			}
		}
		if end == 0 {
			return nil, nil
		}
		head := lines[0] // bytes.Split returns at least one
		start := max(0, end-auditTailBlock)
		block := make([]byte, end-start, int(end-start)+len(head))
		if _, err := f.ReadAt(block, start); err != nil {
			return nil, fmt.Errorf("read audit log: %w", err)
		}
		tail, end = append(block, head...), start
	}
}

// LastUndoable returns the newest entry that changed registry files, or
// nil; with within set, the newest that changed a file under one of those
// directories.
func (a *Audit) LastUndoable(ctx context.Context, within ...string) (*Entry, error) {
	entries, err := a.Entries(ctx)
	if err != nil {
		return nil, err
	}
	for i := len(entries) - 1; i >= 0; i-- {
		if undoable[entries[i].Action] && len(entries[i].Files)+len(entries[i].Rows) > 0 && touches(entries[i], within) {
			return &entries[i], nil
		}
	}
	return nil, nil
}

// touches reports whether e changed a file under one of dirs; any entry
// does when dirs is empty. Paths are compared with symlinks followed, as
// far as they still exist: one workspace can be reached by several.
func touches(e Entry, dirs []string) bool {
	if len(dirs) == 0 {
		return true
	}
	real := make([]string, len(dirs))
	for i, d := range dirs {
		real[i] = realPath(d)
	}
	paths := make([]string, 0, len(e.Files)+len(e.Rows))
	for _, f := range e.Files {
		paths = append(paths, f.Path)
	}
	for _, r := range e.Rows {
		paths = append(paths, r.Database)
	}
	for _, path := range paths {
		p := filepath.Join(realPath(filepath.Dir(path)), filepath.Base(path))
		for _, d := range real {
			if rel, err := filepath.Rel(d, p); err == nil && rel != ".." && !strings.HasPrefix(rel, "../") {
				return true
			}
		}
	}
	return false
}

// realPath is p with its symlinks followed, or p cleaned when it cannot be
// (it no longer exists).
func realPath(p string) string {
	if r, err := filepath.EvalSymlinks(p); err == nil {
		return r
	}
	return filepath.Clean(p)
}

// changesOf lists the files a set of commits changed, with the fields each
// changed when they are known.
func changesOf(commits []*registry.Commit, fields map[string][]FieldChange) []FileChange {
	var out []FileChange
	for _, c := range commits {
		if c.Changed {
			out = append(out, FileChange{Path: c.Path, Before: c.OldHash, After: c.NewHash, Backup: c.Backup, Fields: fields[c.Path]})
		}
	}
	return out
}

// noteFields records in fields what a commit changed, field by field, from
// the bytes its change function saw under the lock and the bytes it
// returned: the last call's, which are what the store wrote.
func noteFields(fields map[string][]FieldChange, c *registry.Commit, old []byte, next *pyjson.Spliced) {
	if c == nil || !c.Changed {
		return
	}
	if fs, ok := fieldChangesOf(pyjson.SplicedOf(old), next); ok && len(fs) > 0 {
		fields[c.Path] = fs
	}
}
