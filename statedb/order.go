package statedb

import (
	"cmp"
	"context"
	"database/sql"
	"slices"
	"strings"
)

// readAgents fills st.Agents from the agents table (whose columns are
// cols), ordered by task_id, started_at, agent_id as SQLite orders them.
//
// SQLite sorts the rows of an ORDER BY through an index and a temporary
// b-tree that spills into a temporary file once it outgrows the page
// cache: a third of the read, on 10,000 agents. So the rows are read in
// the table's own order and sorted here instead, wherever this gives
// SQLite's order exactly: in a UTF-8 database whose agents table declares
// no collation, with keys that are all text or NULL, and never both a NULL
// and an empty text in one key column (both read as ""). Anything else is
// read again with SQLite's ORDER BY.
func (st *State) readAgents(ctx context.Context, conn *sql.Conn, cols map[string]bool) error {
	each := func(v []any) {
		st.Agents = append(st.Agents, Agent{
			ID: text(v[0]), TaskID: text(v[1]), Type: text(v[2]), Model: text(v[3]),
			TmuxSession: text(v[4]), Parent: text(v[5]), Depth: integer(v[6]), Status: text(v[7]),
			Progress: integer(v[8]), StartedAt: text(v[9]), LastUpdate: text(v[10]), CompletedAt: text(v[11]),
		})
	}
	binary, count, err := agentsShape(ctx, conn)
	if err != nil {
		return err
	}
	st.Agents = make([]Agent, 0, count)
	if binary {
		var keys orderKeys
		err := agentsTable.queryOrdered(ctx, conn, cols, "", func(v []any) {
			keys.see(v)
			each(v)
		})
		if err != nil {
			return err
		}
		if keys.plain() {
			sortAgents(st.Agents)
			return nil
		}
		st.Agents = st.Agents[:0]
	}
	return agentsTable.query(ctx, conn, cols, each)
}

// sortAgents sorts agents by compareAgents, rows of equal keys in the
// order read: it sorts their indexes, then moves each row once.
func sortAgents(agents []Agent) {
	perm := make([]int32, len(agents))
	for i := range perm {
		perm[i] = int32(i)
	}
	slices.SortFunc(perm, func(x, y int32) int {
		if c := compareAgents(&agents[x], &agents[y]); c != 0 {
			return c
		}
		return cmp.Compare(x, y)
	})
	// Position i takes the row at perm[i]: follow each cycle of the
	// permutation, marking the positions filled.
	for i := range perm {
		if perm[i] < 0 {
			continue
		}
		first := agents[i]
		j := i
		for {
			k := int(perm[j])
			perm[j] = -1
			if k == i {
				agents[j] = first
				break
			}
			agents[j] = agents[k]
			j = k
		}
	}
}

// agentsKeys are the positions, in agentsTable.cols, of the columns the
// agents are ordered by: task_id, started_at, agent_id.
var agentsKeys = [...]int{1, 9, 0}

// compareAgents orders agents by their keys, byte by byte: SQLite's BINARY
// collation of UTF-8 text.
func compareAgents(a, b *Agent) int {
	if c := strings.Compare(a.TaskID, b.TaskID); c != 0 {
		return c
	}
	if c := strings.Compare(a.StartedAt, b.StartedAt); c != 0 {
		return c
	}
	return strings.Compare(a.ID, b.ID)
}

// orderKeys watches the key values of the rows read, for what would make
// compareAgents order them otherwise than SQLite.
type orderKeys struct {
	// other is set by a key that is neither text nor NULL.
	other bool
	// null and empty are set, per key, by a NULL and by a ''.
	null, empty [len(agentsKeys)]bool
}

func (k *orderKeys) see(v []any) {
	for i, col := range agentsKeys {
		switch s := v[col].(type) {
		case nil:
			k.null[i] = true
		case string:
			if s == "" {
				k.empty[i] = true
			}
		default:
			k.other = true
		}
	}
}

// plain reports whether compareAgents orders the rows seen as SQLite would.
func (k *orderKeys) plain() bool {
	if k.other {
		return false
	}
	for i := range agentsKeys {
		if k.null[i] && k.empty[i] {
			return false
		}
	}
	return true
}

// agentsShape reports whether SQLite compares the agents table's text byte
// by byte in UTF-8 (the database's encoding is UTF-8, and agents is a
// table whose definition names no collation), and how many rows it has.
func agentsShape(ctx context.Context, conn *sql.Conn) (binary bool, count int, err error) {
	err = scan(ctx, conn, `SELECT (SELECT "encoding" FROM pragma_encoding),
		(SELECT "sql" FROM "sqlite_master" WHERE "type" = 'table' AND "name" = 'agents' COLLATE NOCASE),
		(SELECT count(*) FROM "agents")`, 3,
		func(v []any) {
			def := strings.ToUpper(text(v[1]))
			binary = text(v[0]) == "UTF-8" && strings.HasPrefix(def, "CREATE TABLE") && !strings.Contains(def, "COLLATE")
			count = integer(v[2])
		})
	return binary, count, err
}
