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

// sketches are two versions of a registry in one table: each one's
// top-level fields, the agents left out, and each agent id's entries in
// each as a hash of their text.
type sketches struct {
	roots [2]*pyjson.Value
	ids   []string // the first version's in document order, then the second's new ones
	at    map[string]int
	sums  [][2]sketchSum // by an id's place in ids, a sum for each version
}

// sketchSum is an id's entries in one version; n is 0 where it has none.
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

// sketchHint is the size hint ProjectStream is given for a sketch: it
// makes room for an eighth of its hint, and what a sketch keeps, the
// top-level fields but the agents, is about a 64th of a registry.
func sketchHint(doc *pyjson.Spliced) int64 { return int64(doc.Size()) / 8 }

// sketch reads one version of a registry, side 0 or 1, into s.
func (s *sketches) sketch(side int, doc *pyjson.Spliced) error {
	root, err := pyjson.ProjectStream(reader(doc), sketchProjection, 1<<20, sketchHint(doc), func(e pyjson.Element) error {
		id, ok := agentID(e)
		if !ok {
			return errNoSketch
		}
		h := maphash.Bytes(sketchSeed, e.Text)
		// id is the stream's until the call returns: the map is written
		// only with a copy (an assignment to a string key stores its key).
		i, seen := s.at[id]
		if !seen {
			i = len(s.ids)
			id = strings.Clone(id)
			s.at[id] = i
			s.ids = append(s.ids, id)
			s.sums = append(s.sums, [2]sketchSum{})
		}
		switch g := &s.sums[i][side]; {
		case g.n == 0:
			*g = sketchSum{sum: h, n: 1}
		case e.Object: // a repeated key: its last entry stands in its place
			g.sum = h
		default: // the entries of one id, in order
			g.sum, g.n = (g.sum*0x100000001b3^h)+uint64(g.n), g.n+1
		}
		return nil
	})
	s.roots[side] = root
	return err
}

// reader reads doc from its parts.
func reader(doc *pyjson.Spliced) io.Reader { return io.NewSectionReader(doc, 0, int64(doc.Size())) }

// entriesOf reads the entries of the agents named in want, whole and of
// their own, and where each stands in an array.
func entriesOf(doc *pyjson.Spliced, want map[string]bool) (map[string][]*pyjson.Value, map[string][]int, error) {
	groups, at := map[string][]*pyjson.Value{}, map[string][]int{}
	_, err := pyjson.ProjectStream(reader(doc), sketchProjection, 1<<20, sketchHint(doc), func(e pyjson.Element) error {
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
	s := &sketches{at: map[string]int{}}
	if s.sketch(0, before) != nil || s.sketch(1, after) != nil {
		return nil, false
	}
	b, a := s.roots[0], s.roots[1]
	kind := b.Get("agents").Kind()
	if (kind != pyjson.Array && kind != pyjson.Object) || a.Get("agents").Kind() != kind {
		return nil, false
	}
	changed := map[string]bool{}
	for i, id := range s.ids {
		if s.sums[i][0] != s.sums[i][1] {
			changed[id] = true
		}
	}
	var err error
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
	for _, k := range unionKeys(b, a) {
		if k == "agents" {
			out = append(out, groupChanges(kind, s.ids, bg, bat, ag)...)
			continue
		}
		if bv, av := b.Get(k), a.Get(k); differ(bv, av) {
			out = append(out, FieldChange{Path: fieldPath("", k), Field: k, Old: textOf(bv), New: textOf(av)})
		}
	}
	return out, true
}
