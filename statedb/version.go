package statedb

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"hash"
	"maps"
	"slices"
)

// version hashes what a read saw: the columns present and every row, each
// field written with its length (a string) or as a varint, each list with
// its count, so that two different reads never write the same bytes. A
// field added to a row type must be added here (TestVersionSeesEveryField
// says so).
func version(present map[string][]string, st *State) string {
	var v versioner
	v.h = sha256.New()
	tables := slices.Sorted(maps.Keys(present))
	v.num(len(tables))
	for _, t := range tables {
		v.str(t)
		v.strs(present[t]...)
	}
	v.num(len(st.Tasks))
	for _, t := range st.Tasks {
		v.strs(t.ID, t.Status, t.UpdatedAt)
		v.num(t.MaxAgents)
		v.num(t.MaxConcurrent)
		v.flag(t.HasConfig)
	}
	v.num(len(st.Agents))
	for _, a := range st.Agents {
		v.strs(a.ID, a.TaskID, a.Type, a.Model, a.TmuxSession, a.Parent)
		v.num(a.Depth)
		v.str(a.Status)
		v.num(a.Progress)
		v.strs(a.StartedAt, a.LastUpdate, a.CompletedAt)
	}
	v.num(len(st.Progress))
	for _, p := range st.Progress {
		v.strs(p.TaskID, p.AgentID, p.Timestamp, p.Status)
		v.num(p.Progress)
		v.str(p.Message)
	}
	v.num(len(st.Hierarchy))
	for _, l := range st.Hierarchy {
		v.strs(l.TaskID, l.Parent, l.Child)
	}
	v.h.Write(v.buf)
	return hex.EncodeToString(v.h.Sum(nil))
}

// versioner writes version's fields through a buffer into the hash.
type versioner struct {
	h   hash.Hash
	buf []byte
}

func (v *versioner) num(n int) {
	v.buf = binary.AppendVarint(v.buf, int64(n))
}

func (v *versioner) str(s string) {
	v.buf = binary.AppendUvarint(v.buf, uint64(len(s)))
	v.buf = append(v.buf, s...)
	if len(v.buf) >= 64<<10 {
		v.h.Write(v.buf)
		v.buf = v.buf[:0]
	}
}

// strs writes a list of strings with its count.
func (v *versioner) strs(ss ...string) {
	v.num(len(ss))
	for _, s := range ss {
		v.str(s)
	}
}

func (v *versioner) flag(b bool) {
	n := 0
	if b {
		n = 1
	}
	v.num(n)
}
