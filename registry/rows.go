package registry

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"unicode/utf8"
	"unsafe"

	"agentwatch/registry/pyjson"
)

// Rows are the agents and tasks of a lean read, typed as the views give
// them, each read from its entry as the entry streams past: a registry of
// 150,000 agents costs its rows, never a document of them. A task
// registry's agents are in array order (Index their position, TaskID the
// task's where the entry has none); the global registry's in the order of
// their keys, ID the key, a repeated key's last entry in its first place,
// as Python reads them.
type Rows struct {
	Agents []Agent
	Tasks  []Task
}

// errReadWhole ends a lean read at an entry it leaves to Read: one that is
// not an object (the views refuse such a registry, and Read says why as
// they do), or one keyed by an id with a lone surrogate (two such keys
// differ in the document and read alike as Go strings).
var errReadWhole = errors.New("an entry for a whole read")

// rowReader builds Rows from the elements of a lean read. What it keeps is
// copied out of the scanner's buffers: the few distinct task ids, types,
// parents and statuses once each, the rest of an agent in one string.
type rowReader struct {
	rows Rows
	// The agents go to Rows.Agents while it has room, the rest to blocks
	// (more), copied once into it at the end: a slice grown by append
	// would copy them some twenty times, each row a dozen pointers through
	// the collector's write barrier. Once presizeAt agents are read, the
	// bytes they took tell how many the stream holds, and Rows.Agents is
	// made room for them (presize).
	more     [][]Agent
	n        int
	presized bool
	// size is the stream's size in bytes, zero when unknown; firstEnd is
	// where its first agent ended.
	size, firstEnd int64
	common         map[string]string
	// last holds, for each interned field of an agent, the text the agent
	// before had: neighbours mostly share them, and the map is not asked.
	last [4]string
	// text is where own copies agents' own strings to, a block at a time.
	text []byte
	// object records whether the agents were an object's members.
	object bool
}

func (r *rowReader) handle(e pyjson.Element) error {
	if e.Object && strings.ContainsRune(e.Key, utf8.RuneError) {
		return errReadWhole
	}
	switch e.Stream {
	case "agents":
		id, idField, index := "", true, e.Index
		if e.Object {
			r.object = true
			id, idField, index = e.Key, false, -1
		}
		a, plain := plainAgent(e.Text, id, idField, index)
		if !plain {
			if e.Value().Kind() != pyjson.Object {
				return errReadWhole
			}
			a = agentFrom(id, idField, e.Value(), index)
		}
		a.Entry = nil
		r.own(&a)
		r.put(e.Index, a)
		switch {
		case r.n == 1:
			r.firstEnd = e.End
		case r.n == presizeAt && !r.presized:
			r.presize(e.End)
		}
	case "tasks":
		if e.Value().Kind() != pyjson.Object {
			return errReadWhole
		}
		t := Task{
			ID:          e.Key,
			Description: strings.Clone(e.Value().Get("description").StrOr("")),
			Status:      r.intern(e.Value().Get("status").StrOr("")),
			CreatedAt:   strings.Clone(e.Value().Get("created_at").StrOr("")),
		}
		if e.Index < len(r.rows.Tasks) {
			r.rows.Tasks[e.Index] = t
		} else {
			r.rows.Tasks = append(r.rows.Tasks, t)
		}
	}
	return nil
}

// plainAgent reads an agent from its entry's projected text, as agentFrom
// reads it from the entry parsed, where that text is plainly an object of
// strings: every member's key and value written without an escape, and a
// status of ASCII alone (a repeated key's last value stands, as in the
// parse). ok is false for any other text, which is left to agentFrom. The
// strings are the text's.
func plainAgent(text []byte, id string, idField bool, index int) (a Agent, ok bool) {
	a = Agent{ID: id, Index: index}
	if len(text) < 2 || text[0] != '{' {
		return a, false
	}
	if text[1] == '}' {
		return a, len(text) == 2
	}
	for i := 1; ; {
		key, at, ok := plainString(text, i)
		if !ok || at >= len(text) || text[at] != ':' {
			return a, false
		}
		val, at, ok := plainString(text, at+1)
		if !ok || at >= len(text) {
			return a, false
		}
		if key != "status" {
			a.setString(key, val, idField)
		} else {
			for j := 0; j < len(val); j++ {
				if val[j] >= utf8.RuneSelf {
					return a, false
				}
			}
			a.Status, a.HasStatus = val, true
		}
		switch text[at] {
		case ',':
			i = at + 1
		case '}':
			return a, at+1 == len(text)
		default:
			return a, false
		}
	}
}

// plainString reads the string at text[i] written without an escape, and
// returns its body (the text's bytes) and where the text goes on after it.
func plainString(text []byte, i int) (s string, next int, ok bool) {
	if i >= len(text) || text[i] != '"' {
		return "", 0, false
	}
	n := bytes.IndexByte(text[i+1:], '"')
	if n < 0 {
		return "", 0, false
	}
	body := text[i+1 : i+1+n]
	if bytes.IndexByte(body, '\\') >= 0 {
		return "", 0, false
	}
	return unsafe.String(unsafe.SliceData(body), len(body)), i + n + 2, true
}

// rowBlock is how many agents a block of rowReader holds; the first is
// made for presizeAt, the agents whose bytes judge how many follow (it
// grows to a whole block where they judge nothing).
const (
	rowBlock  = 1024
	presizeAt = 256
)

// presize gives Rows.Agents room for the agents of the stream, judged by
// the bytes the first presizeAt took (from the end of the first to the end
// of the last, end), as if the rest of the stream were more of the same.
// Never more than one for each 192 bytes of the stream (a real entry takes
// several hundred); where small entries came first and big ones follow,
// finish gives back what is left over.
func (r *rowReader) presize(end int64) {
	r.presized = true
	if r.size <= 0 || end <= r.firstEnd || end >= r.size || len(r.more) != 1 {
		return
	}
	each := (end - r.firstEnd) / int64(r.n-1) // bytes an agent, with its separator
	est := int64(r.n) + (r.size-end)/max(each, 1)
	est = min(est+est/32, r.size/192)
	if est <= int64(r.n) {
		return
	}
	r.rows.Agents = append(make([]Agent, 0, est), r.more[0]...)
	r.more = nil
}

// put stores the agent at index: a new one at the end, or in the place of
// an earlier one of the same key.
func (r *rowReader) put(index int, a Agent) {
	if index < r.n {
		if index < len(r.rows.Agents) {
			r.rows.Agents[index] = a
		} else {
			k := index - len(r.rows.Agents)
			r.more[k/rowBlock][k%rowBlock] = a
		}
		return
	}
	r.n++
	if r.more == nil && len(r.rows.Agents) < cap(r.rows.Agents) {
		r.rows.Agents = append(r.rows.Agents, a)
		return
	}
	if k := r.n - 1 - len(r.rows.Agents); k%rowBlock == 0 {
		size := rowBlock
		if k == 0 && !r.presized {
			size = presizeAt
		}
		r.more = append(r.more, make([]Agent, 0, size))
	}
	last := &r.more[len(r.more)-1]
	*last = append(*last, a)
}

// own copies an agent's strings out of the scanner's buffers: the fields
// agents share once each, the rest into blocks of text of the reader's own
// (the bytes a block holds are never written again).
func (r *rowReader) own(a *Agent) {
	a.TaskID, a.Type, a.Parent, a.Status = r.near(0, a.TaskID), r.near(1, a.Type), r.near(2, a.Parent), r.near(3, a.Status)
	a.statusJSON = strings.Clone(a.statusJSON)
	n := len(a.ID) + len(a.TmuxSession) + len(a.StartedAt) + len(a.LastUpdate)
	if n == 0 {
		return
	}
	if cap(r.text)-len(r.text) < n {
		// Blocks grow with the registry, up to 64 KiB: a registry of a few
		// agents takes a few hundred bytes.
		r.text = make([]byte, 0, max(n, min(2*cap(r.text), 64<<10), 512))
	}
	cut := func(s string) string {
		if s == "" {
			return ""
		}
		at := len(r.text)
		r.text = append(r.text, s...)
		return unsafe.String(&r.text[at], len(s))
	}
	a.ID, a.TmuxSession, a.StartedAt, a.LastUpdate = cut(a.ID), cut(a.TmuxSession), cut(a.StartedAt), cut(a.LastUpdate)
}

// near is intern for the field k of an agent, which mostly has the text
// the agent before had.
func (r *rowReader) near(k int, s string) string {
	if s == r.last[k] {
		return r.last[k]
	}
	r.last[k] = r.intern(s)
	return r.last[k]
}

// intern returns s as a string of this read's own, one copy per text.
func (r *rowReader) intern(s string) string {
	if s == "" {
		return ""
	}
	if c, ok := r.common[s]; ok {
		return c
	}
	c := strings.Clone(s)
	if r.common == nil {
		r.common = map[string]string{}
	}
	if len(r.common) < 4096 { // a few distinct values, not one per agent
		r.common[c] = c
	}
	return c
}

// finish fills a task registry's agents' TaskID from the root, once the
// whole document has been read.
func (r *rowReader) finish(root *pyjson.Value) *Rows {
	switch {
	case r.more != nil:
		all := append(make([]Agent, 0, r.n), r.rows.Agents...)
		for _, b := range r.more {
			all = append(all, b...)
		}
		r.rows.Agents, r.more = all, nil
	case cap(r.rows.Agents) > 2*r.n+presizeAt:
		// The estimate was far over: the rows are kept, not the room. Room
		// up to as much again is kept: the reader never writes it (the
		// collector counts it, and scans it), where a copy writes the
		// rows' bytes again (a registry's first agents, often its active
		// ones, are typically a third shorter than the rest).
		r.rows.Agents = slices.Clone(r.rows.Agents)
	}
	if !r.object {
		taskID := root.Get("task_id").StrOr("")
		for i := range r.rows.Agents {
			if r.rows.Agents[i].TaskID == "" {
				r.rows.Agents[i].TaskID = taskID
			}
		}
	}
	return &r.rows
}

// Document is the lean read's document with its rows put back as entries
// holding the fields the views read: what a plan simulates its operations
// on. Root itself is left alone.
func (r *Rows) Document(root *pyjson.Value) *pyjson.Value {
	doc := root.Clone()
	entry := func(a Agent, withID bool) *pyjson.Value {
		e := pyjson.NewObject()
		for _, f := range [...]struct{ name, val string }{
			{"id", a.ID}, {"task_id", a.TaskID}, {"type", a.Type}, {"parent", a.Parent},
			{"tmux_session", a.TmuxSession}, {"started_at", a.StartedAt}, {"last_update", a.LastUpdate},
		} {
			if f.val != "" && (withID || f.name != "id") {
				e.Set(f.name, pyjson.NewString(f.val))
			}
		}
		if st := a.StatusValue(); st != nil {
			e.Set("status", st)
		}
		return e
	}
	if agents := doc.Get("agents"); agents != nil {
		for _, a := range r.Agents {
			switch agents.Kind() {
			case pyjson.Array:
				agents.Append(entry(a, true))
			case pyjson.Object:
				agents.Set(a.ID, entry(a, false))
			}
		}
	}
	if tasks := doc.Get("tasks"); tasks != nil && tasks.Kind() == pyjson.Object {
		for _, t := range r.Tasks {
			e := pyjson.NewObject()
			for _, f := range [...]struct{ name, val string }{{"description", t.Description}, {"status", t.Status}, {"created_at", t.CreatedAt}} {
				if f.val != "" {
					e.Set(f.name, pyjson.NewString(f.val))
				}
			}
			tasks.Set(t.ID, e)
		}
	}
	return doc
}
