package engine

import (
	"fmt"
	"slices"
	"strconv"
	"unicode"

	"agentwatch/registry/pyjson"
)

// FieldChange is one field of a registry that an action changed, as the
// audit log records it, so that undo can put back that field alone.
type FieldChange struct {
	// Path names the field for people: "active_count",
	// "agents[a-1].status", or "agents[a-1]" for an agent's entries as a
	// whole (a dedupe).
	Path string `json:"path"`
	// Agent and Field locate it: Agent "" is a field at the top of the
	// document; Field "" is the agent's entries as a whole.
	Agent string `json:"agent,omitempty"`
	Field string `json:"field,omitempty"`
	// Old and New are the JSON text of the value before and after, as
	// pyjson.Encode writes it; nil when the field was absent.
	Old *string `json:"old,omitempty"`
	New *string `json:"new,omitempty"`
	// At is, for an agent's entries as a whole in a task registry, where
	// each old entry stood in the agents array, so that undo puts them back
	// there.
	At []int `json:"at,omitempty"`
}

// fieldPath is the name of a field for people, with every character that
// a terminal would act on escaped.
func fieldPath(agent, field string) string {
	switch {
	case agent == "":
		return Printable(field)
	case field == "":
		return "agents[" + Printable(agent) + "]"
	}
	return "agents[" + Printable(agent) + "]." + Printable(field)
}

// Printable is s as it is when every rune of it prints, else Go-quoted:
// text from a registry or a path that a terminal would act on is shown
// escaped.
func Printable(s string) string {
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return strconv.Quote(s)
		}
	}
	return s
}

func textOf(v *pyjson.Value) *string {
	if v == nil {
		return nil
	}
	s := string(pyjson.Encode(v))
	return &s
}

// differ reports whether a field differs between two versions: present in
// one only, or encoded otherwise. It is compared as encodings; only a field
// that differs is made text.
func differ(b, a *pyjson.Value) bool {
	return (b == nil) != (a == nil) || b != nil && !pyjson.Equal(b, a)
}

func sameText(a, b *string) bool {
	return (a == nil) == (b == nil) && (a == nil || *a == *b)
}

func shown(s *string) string {
	if s == nil {
		return "absent"
	}
	return *s
}

// fieldChanges lists what differs between two versions of a registry: each
// top-level field, and each field of each agent entry (by id, in the task
// registry's array or the global registry's object). An agent whose
// entries are not one before and one after (a dedupe) is one change of its
// entries as a whole; agents that cannot be told apart by id make the
// agents field one change.
func fieldChanges(before, after *pyjson.Value) []FieldChange {
	var out []FieldChange
	for _, k := range unionKeys(before, after) {
		b, a := before.Get(k), after.Get(k)
		if k == "agents" {
			if cs, ok := agentChanges(b, a); ok {
				out = append(out, cs...)
				continue
			}
		}
		if differ(b, a) {
			out = append(out, FieldChange{Path: fieldPath("", k), Field: k, Old: textOf(b), New: textOf(a)})
		}
	}
	return out
}

func unionKeys(a, b *pyjson.Value) []string {
	seen := map[string]bool{}
	var keys []string
	for _, v := range []*pyjson.Value{a, b} {
		for _, k := range v.Keys() {
			if !seen[k] {
				seen[k] = true
				keys = append(keys, k)
			}
		}
	}
	return keys
}

// agentGroups returns an agents field's entries by id, ids in document
// order, and where each entry stands in an array; ok is false when an
// entry has no id, or is not an object.
func agentGroups(agents *pyjson.Value) (ids []string, groups map[string][]*pyjson.Value, at map[string][]int, ok bool) {
	groups, at = map[string][]*pyjson.Value{}, map[string][]int{}
	add := func(id string, e *pyjson.Value, i int) {
		if _, seen := groups[id]; !seen {
			ids = append(ids, id)
		}
		groups[id] = append(groups[id], e)
		at[id] = append(at[id], i)
	}
	switch agents.Kind() {
	case pyjson.Array:
		for i, e := range agents.Elems() {
			id, isStr := e.Get("id").Str()
			if e.Kind() != pyjson.Object || !isStr || id == "" {
				return nil, nil, nil, false
			}
			add(id, e, i)
		}
	case pyjson.Object:
		for _, m := range agents.Members() {
			if m.Value.Kind() != pyjson.Object {
				return nil, nil, nil, false
			}
			add(m.Key, m.Value, -1)
		}
	default:
		return nil, nil, nil, false
	}
	return ids, groups, at, true
}

func agentChanges(before, after *pyjson.Value) ([]FieldChange, bool) {
	if before.Kind() != after.Kind() {
		return nil, false
	}
	bids, bg, bat, ok := agentGroups(before)
	if !ok {
		return nil, false
	}
	aids, ag, _, ok := agentGroups(after)
	if !ok {
		return nil, false
	}
	return groupChanges(before.Kind(), union(bids, aids), bg, bat, ag), true
}

// groupChanges lists the changes of the agents ids, from their entries
// before (bg, standing at bat in an array) and after (ag); an id in
// neither map is unchanged.
func groupChanges(kind pyjson.Kind, ids []string, bg map[string][]*pyjson.Value, bat map[string][]int, ag map[string][]*pyjson.Value) []FieldChange {
	var out []FieldChange
	for _, id := range ids {
		bs, as := bg[id], ag[id]
		if len(bs) == 1 && len(as) == 1 {
			for _, k := range unionKeys(bs[0], as[0]) {
				if b, a := bs[0].Get(k), as[0].Get(k); differ(b, a) {
					out = append(out, FieldChange{Path: fieldPath(id, k), Agent: id, Field: k, Old: textOf(b), New: textOf(a)})
				}
			}
			continue
		}
		if bt, at := entriesText(bs), entriesText(as); !sameText(bt, at) {
			fc := FieldChange{Path: fieldPath(id, ""), Agent: id, Old: bt, New: at}
			if kind == pyjson.Array {
				fc.At = bat[id]
			}
			out = append(out, fc)
		}
	}
	return out
}

// union is a's strings, then those of b's not in a, each once.
func union(a, b []string) []string {
	seen := make(map[string]struct{}, max(len(a), len(b)))
	out := make([]string, 0, max(len(a), len(b)))
	for _, l := range [][]string{a, b} {
		for _, s := range l {
			if _, ok := seen[s]; !ok {
				seen[s] = struct{}{}
				out = append(out, s)
			}
		}
	}
	return out
}

// entriesText is an agent's entries as one JSON array, nil for none.
func entriesText(es []*pyjson.Value) *string {
	if len(es) == 0 {
		return nil
	}
	return textOf(pyjson.NewArray(es...))
}

// fieldChangesOf parses two versions of a registry and lists their field
// changes; ok is false when either does not parse.
func fieldChangesOf(before, after *pyjson.Spliced) ([]FieldChange, bool) {
	if before.Size()+after.Size() >= streamFrom {
		if fs, ok := streamedFieldChanges(before, after); ok {
			return fs, true
		}
	}
	return wholeFieldChanges(before, after)
}

// wholeFieldChanges is fieldChangesOf by parsing both versions whole.
func wholeFieldChanges(before, after *pyjson.Spliced) ([]FieldChange, bool) {
	b, err := pyjson.Parse(before.Bytes())
	if err != nil {
		return nil, false
	}
	a, err := pyjson.Parse(after.Bytes())
	if err != nil {
		return nil, false
	}
	return fieldChanges(b, a), true
}

// undoFields puts back, in root, each recorded field that still holds the
// value the action wrote. It returns a note for each field it kept, and
// whether it changed anything. The records name each field once, so their
// order does not matter but for a field that comes back after being
// removed: it is added at the end of its object, as Python's dict does,
// in document order.
func undoFields(root *pyjson.Value, fields []FieldChange) (kept []string, changed bool) {
	for _, fc := range fields {
		if note := undoField(root, fc); note != "" {
			kept = append(kept, fc.Path+" "+note+": kept")
			continue
		}
		changed = true
	}
	return kept, changed
}

// undoField puts one field back, or says why it did not.
func undoField(root *pyjson.Value, fc FieldChange) string {
	if root.Kind() != pyjson.Object {
		return "cannot be found: the registry is no longer an object"
	}
	if fc.Agent == "" {
		return putBack(root, fc.Field, fc)
	}
	agents := root.Get("agents")
	_, groups, _, ok := agentGroups(agents)
	if !ok {
		return "cannot be found: the agents field no longer holds entries with ids"
	}
	es := groups[fc.Agent]
	if fc.Field != "" {
		switch len(es) {
		case 0:
			return "cannot be put back: the agent is no longer in the registry"
		case 1:
			return putBack(es[0], fc.Field, fc)
		}
		return fmt.Sprintf("cannot be put back: the agent has %d entries now", len(es))
	}
	// The agent's entries as a whole.
	if cur := entriesText(es); !sameText(cur, fc.New) {
		return fmt.Sprintf("is now %s, agentwatch wrote %s", shown(cur), shown(fc.New))
	}
	var old []*pyjson.Value
	if fc.Old != nil {
		v, err := pyjson.Parse([]byte(*fc.Old))
		if err != nil || v.Kind() != pyjson.Array {
			return "cannot be put back: the audit log's record of it does not parse"
		}
		old = v.Elems()
	}
	if agents.Kind() == pyjson.Object {
		switch {
		case len(old) == 0:
			agents.Delete(fc.Agent)
		case len(old) == 1:
			agents.Set(fc.Agent, old[0])
		default:
			return "cannot be put back: the global registry holds one entry per agent"
		}
		return ""
	}
	// A task registry's array: the current entries go, and the old ones
	// come back where they stood (at the end when that is past it).
	var elems []*pyjson.Value
	for _, e := range agents.Elems() {
		if id, _ := e.Get("id").Str(); id != fc.Agent {
			elems = append(elems, e)
		}
	}
	for i, e := range old {
		at := len(elems)
		if i < len(fc.At) && fc.At[i] >= 0 && fc.At[i] < at {
			at = fc.At[i]
		}
		elems = slices.Insert(elems, at, e)
	}
	root.Set("agents", pyjson.NewArray(elems...))
	return ""
}

// putBack sets obj's key back to fc.Old when it still holds fc.New.
func putBack(obj *pyjson.Value, key string, fc FieldChange) string {
	if cur := textOf(obj.Get(key)); !sameText(cur, fc.New) {
		return fmt.Sprintf("is now %s, agentwatch wrote %s", shown(cur), shown(fc.New))
	}
	if fc.Old == nil {
		obj.Delete(key)
		return ""
	}
	v, err := pyjson.Parse([]byte(*fc.Old))
	if err != nil {
		return "cannot be put back: the audit log's record of it does not parse"
	}
	obj.Set(key, v)
	return ""
}
