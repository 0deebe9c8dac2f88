package engine

import (
	"errors"
	"hash/maphash"
	"io"
	"strings"
	"unicode/utf8"

	"agentwatch/registry/pyjson"
)

// The field changes of a big registry, without a document of it: a repair
// of one counter of a 200 MB registry would otherwise parse both versions
// whole, some gigabytes, to find the one field. Each version is read once
// as a stream, its agents each reduced to a hash of their text; only the
// agents whose text differs are read again, whole, and compared field by
// field as wholeFieldChanges compares them.

// streamFrom is the size from which a registry's versions are compared as
// streams: below it, parsing them whole costs less than the stream's
// windows.
const streamFrom = 1 << 20

// sketchProjection keeps every top-level field but the agents, which are
// streamed.
var sketchProjection = pyjson.FieldsElse(map[string]*pyjson.Projection{"agents": pyjson.Stream("agents", pyjson.Whole)}, pyjson.Whole)

// errNoSketch ends a sketch at an agent entry wholeFieldChanges takes as
// a whole (not an object, or without a string id).
var errNoSketch = errors.New("agents not in the orchestrator's shape")

// sketch is one version of a registry: its top-level fields, the agents
// empty, and each agent id's entries as a hash of their text.
type sketch struct {
	root *pyjson.Value
	ids  []string // in document order
	sums map[string]*sketchSum
}

type sketchSum struct {
	sum uint64
	n   int
}

var sketchSeed = maphash.MakeSeed()

// agentID is the id an agent entry is grouped by (see agentGroups); ok is
// false for an entry that groups take as a whole.
func agentID(e pyjson.Element) (string, bool) {
	if e.Value().Kind() != pyjson.Object {
		return "", false
	}
	if e.Object { // a key with a lone surrogate: two of them read alike
		return e.Key, !strings.ContainsRune(e.Key, utf8.RuneError)
	}
	id, isStr := e.Value().Get("id").Str()
	return id, isStr && id != ""
}

func sketchOf(doc *pyjson.Spliced) (*sketch, error) {
	s := &sketch{sums: map[string]*sketchSum{}}
	root, err := pyjson.ProjectStream(reader(doc), sketchProjection, 1<<20, int64(doc.Size())/64, func(e pyjson.Element) error {
		id, ok := agentID(e)
		if !ok {
			return errNoSketch
		}
		h := maphash.Bytes(sketchSeed, e.Text)
		// id is the stream's until the call returns: the map is written
		// only with a copy (an assignment to a string key stores its key).
		switch g := s.sums[id]; {
		case g == nil:
			id = strings.Clone(id)
			s.ids = append(s.ids, id)
			s.sums[id] = &sketchSum{sum: h, n: 1}
		case e.Object: // a repeated key: its last entry stands in its place
			g.sum = h
		default: // the entries of one id, in order
			g.sum, g.n = (g.sum*0x100000001b3^h)+uint64(g.n), g.n+1
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.root = root
	return s, nil
}

// reader reads doc from its parts.
func reader(doc *pyjson.Spliced) io.Reader { return io.NewSectionReader(doc, 0, int64(doc.Size())) }

// entriesOf reads the entries of the agents named in want, whole and of
// their own, and where each stands in an array.
func entriesOf(doc *pyjson.Spliced, want map[string]bool) (map[string][]*pyjson.Value, map[string][]int, error) {
	groups, at := map[string][]*pyjson.Value{}, map[string][]int{}
	_, err := pyjson.ProjectStream(reader(doc), sketchProjection, 1<<20, int64(doc.Size())/64, func(e pyjson.Element) error {
		id, ok := agentID(e)
		if !ok {
			return errNoSketch
		}
		if !want[id] {
			return nil
		}
		id = strings.Clone(id)
		v, err := pyjson.Parse(pyjson.Encode(e.Value())) // e's text goes with the call
		if err != nil {
			return err
		}
		if e.Object {
			groups[id] = []*pyjson.Value{v}
			at[id] = []int{-1}
			return nil
		}
		groups[id] = append(groups[id], v)
		at[id] = append(at[id], e.Index)
		return nil
	})
	return groups, at, err
}

// streamedFieldChanges is fieldChangesOf read as streams; ok is false
// where wholeFieldChanges must decide: a version that does not parse, or
// agents that are not in the orchestrator's shape in both.
func streamedFieldChanges(before, after *pyjson.Spliced) ([]FieldChange, bool) {
	b, err := sketchOf(before)
	if err != nil {
		return nil, false
	}
	a, err := sketchOf(after)
	if err != nil {
		return nil, false
	}
	kind := b.root.Get("agents").Kind()
	if (kind != pyjson.Array && kind != pyjson.Object) || a.root.Get("agents").Kind() != kind {
		return nil, false
	}
	changed := map[string]bool{}
	ids := union(b.ids, a.ids)
	for _, id := range ids {
		if bs, as := b.sums[id], a.sums[id]; bs == nil || as == nil || *bs != *as {
			changed[id] = true
		}
	}
	var bg, ag map[string][]*pyjson.Value
	var bat map[string][]int
	if len(changed) > 0 {
		if bg, bat, err = entriesOf(before, changed); err != nil {
			return nil, false
		}
		if ag, _, err = entriesOf(after, changed); err != nil {
			return nil, false
		}
	}
	var out []FieldChange
	for _, k := range unionKeys(b.root, a.root) {
		if k == "agents" {
			out = append(out, groupChanges(kind, ids, bg, bat, ag)...)
			continue
		}
		if bt, at := textOf(b.root.Get(k)), textOf(a.root.Get(k)); !sameText(bt, at) {
			out = append(out, FieldChange{Path: fieldPath("", k), Field: k, Old: bt, New: at})
		}
	}
	return out, true
}
