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
// cache, and the driver crosses into SQLite three times a column: on
// 10,000 agents, most of the read. So the rows are read, where the table
// allows it (agentsShape.quick), as one json_array text each (see
// rowjson.go), in the table's own order, and sorted here, wherever this
// gives SQLite's order exactly: keys that are all text or NULL, and never
// both a NULL and an empty text in one key column (both read as ""). Any
// other table, or a row json_array cannot carry exactly, is read again
// column by column, with SQLite's ORDER BY.
func (st *State) readAgents(ctx context.Context, conn *sql.Conn, cols map[string]bool) error {
	shape, err := agentsShape(ctx, conn)
	if err != nil {
		return err
	}
	st.Agents = make([]Agent, 0, shape.count)
	if shape.quick() {
		if ok := st.readAgentsJSON(ctx, conn, cols); ok {
			sortAgents(st.Agents)
			return nil
		}
		st.Agents = st.Agents[:0]
	}
	return st.readAgentsColumns(ctx, conn, cols)
}

// readAgentsColumns appends the agents rows, column by column, in SQLite's
// order.
func (st *State) readAgentsColumns(ctx context.Context, conn *sql.Conn, cols map[string]bool) error {
	return agentsTable.query(ctx, conn, cols, func(v []any) {
		st.Agents = append(st.Agents, Agent{
			ID: text(v[0]), TaskID: text(v[1]), Type: text(v[2]), Model: text(v[3]),
			TmuxSession: text(v[4]), Parent: text(v[5]), Depth: integer(v[6]), Status: text(v[7]),
			Progress: integer(v[8]), StartedAt: text(v[9]), LastUpdate: text(v[10]), CompletedAt: text(v[11]),
		})
	})
}

// readAgentsJSON appends the agents rows, in the table's order, read as
// json_array texts. False when a row cannot be read so, when the keys are
// not all plain (orderKeys), and on any error: the caller then reads the
// table column by column, which meets the same error if it lasts.
func (st *State) readAgentsJSON(ctx context.Context, conn *sql.Conn, cols map[string]bool) bool {
	list := make([]string, len(agentsTable.cols))
	for i, c := range agentsTable.cols {
		list[i] = "NULL"
		if cols[c] {
			list[i] = jsonColumn(quoteIdent(c))
		}
	}
	q := "SELECT json_array(" + strings.Join(list, ", ") + ") FROM " + quoteIdent(agentsTable.name)
	var keys orderKeys
	ok := true
	c := make([]cell, len(agentsTable.cols))
	err := scanWhile(ctx, conn, q, 1, func(v []any) bool {
		s, isText := v[0].(string)
		if ok = isText && decodeRow(s, c); !ok {
			return false
		}
		keys.see(c)
		st.Agents = append(st.Agents, Agent{
			ID: c[0].text(), TaskID: c[1].text(), Type: c[2].text(), Model: c[3].text(),
			TmuxSession: c[4].text(), Parent: c[5].text(), Depth: c[6].integer(), Status: c[7].text(),
			Progress: c[8].integer(), StartedAt: c[9].text(), LastUpdate: c[10].text(), CompletedAt: c[11].text(),
		})
		return true
	})
	return err == nil && ok && keys.plain()
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

func (k *orderKeys) see(c []cell) {
	for i, col := range agentsKeys {
		switch c[col].kind {
		case cellNull:
			k.null[i] = true
		case cellText:
			if c[col].s == "" {
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

// shape is what agentsShape found.
type shape struct {
	// binary: SQLite compares the agents table's text byte by byte in
	// UTF-8 (the database's encoding is UTF-8, and agents is a table whose
	// definition names no collation).
	binary bool
	// timeTyped: a column read from agents has a declared type naming a
	// date or a time, whose text the driver may turn into a time.Time.
	timeTyped bool
	// count is the number of agents rows.
	count int
}

// quick reports whether the agents may be read as json_array texts and
// sorted in Go.
func (s shape) quick() bool { return s.binary && !s.timeTyped }

// agentsShape asks, in one query, what readAgents needs to know of the
// agents table before it reads it.
func agentsShape(ctx context.Context, conn *sql.Conn) (shape, error) {
	names := make([]string, len(agentsTable.cols))
	for i, c := range agentsTable.cols {
		names[i] = "'" + c + "'"
	}
	var sh shape
	err := scan(ctx, conn, `SELECT (SELECT "encoding" FROM pragma_encoding),
		(SELECT "sql" FROM "sqlite_master" WHERE "type" = 'table' AND "name" = 'agents' COLLATE NOCASE),
		(SELECT count(*) FROM pragma_table_info('agents') WHERE "name" IN (`+strings.Join(names, ", ")+`)
			AND ("type" LIKE '%DATE%' OR "type" LIKE '%TIME%')),
		(SELECT count(*) FROM "agents")`, 4,
		func(v []any) {
			def := strings.ToUpper(text(v[1]))
			sh.binary = text(v[0]) == "UTF-8" && strings.HasPrefix(def, "CREATE TABLE") && !strings.Contains(def, "COLLATE")
			sh.timeTyped = integer(v[2]) > 0
			sh.count = integer(v[3])
		})
	return sh, err
}
