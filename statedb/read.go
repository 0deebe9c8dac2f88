package statedb

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"
)

// The tables and columns Read uses. Every column but agents' agent_id,
// task_id and status may be missing; it then reads as NULL.
var (
	agentsTable = tableSpec{
		name: "agents",
		cols: []string{"agent_id", "task_id", "type", "model", "tmux_session", "parent",
			"depth", "status", "progress", "started_at", "last_update", "completed_at"},
		// task_id, started_at, agent_id
		order: "2, 10, 1",
	}
	tasksTable = tableSpec{
		name:  "tasks",
		cols:  []string{"task_id", "status", "updated_at"},
		order: "1, 2, 3",
	}
	configTable = tableSpec{
		name:  "task_config",
		cols:  []string{"task_id", "max_agents", "max_concurrent"},
		order: "1, 2, 3",
	}
	progressTable = tableSpec{
		name:  "agent_progress_latest",
		cols:  []string{"task_id", "agent_id", "timestamp", "status", "progress", "message"},
		order: "1, 2, 3, 4, 5, 6",
	}
	hierarchyTable = tableSpec{
		name:  "agent_hierarchy",
		cols:  []string{"task_id", "parent_agent_id", "child_agent_id"},
		order: "1, 3, 2",
	}
	workspacesTable = tableSpec{
		name: "known_workspaces",
		cols: []string{"workspace_base", "is_active", "last_accessed"},
	}
)

// agentsRequired are the columns without which a table named agents is not
// the orchestrator's.
var agentsRequired = []string{"agent_id", "task_id", "status"}

// Read reads the state database at path: its tasks (with their task_config
// caps), agents, agent_progress_latest and agent_hierarchy rows, in one read
// transaction on a read-only connection that is closed before Read returns.
//
// A missing file is an error matching fs.ErrNotExist (the file is never
// created); a file that is not an SQLite database matches ErrNotDatabase; a
// database without the agents table matches ErrNoAgentsTable; a missing
// tasks, task_config, agent_progress_latest or agent_hierarchy table reads
// as no rows. A database locked past opts.BusyTimeout matches ErrBusy, and a
// database of another user without its -shm file is *ForeignOwnerError.
func Read(ctx context.Context, path string, opts ReadOptions) (*State, error) {
	st := &State{Path: path}
	err := readOnly(ctx, path, opts, func(conn *sql.Conn) error {
		return st.read(ctx, path, conn)
	})
	if err != nil {
		return nil, fmt.Errorf("read state database: %w", err)
	}
	return st, nil
}

// KnownWorkspaces returns the workspace bases listed in the orchestrator's
// global index at indexPath (known_workspaces rows with is_active=1, or all
// rows when the column is missing), most recently accessed first when the
// index records it. It opens the index as Read opens a state database, with
// the same errors; an index without known_workspaces lists none.
func KnownWorkspaces(ctx context.Context, indexPath string, opts ReadOptions) ([]string, error) {
	var bases []string
	err := readOnly(ctx, indexPath, opts, func(conn *sql.Conn) error {
		present, err := columns(ctx, conn, workspacesTable.name)
		if err != nil || !present["workspace_base"] {
			return err
		}
		q := `SELECT "workspace_base" FROM "known_workspaces"`
		if present["is_active"] {
			q += ` WHERE "is_active" = 1`
		}
		if present["last_accessed"] {
			q += ` ORDER BY "last_accessed" DESC, 1`
		} else {
			q += ` ORDER BY 1`
		}
		return scan(ctx, conn, q, 1, func(v []any) {
			if b := text(v[0]); b != "" {
				bases = append(bases, b)
			}
		})
	})
	if err != nil {
		return nil, fmt.Errorf("read global index: %w", err)
	}
	return bases, nil
}

// readOnly opens path read-only, runs fn inside one read transaction and
// closes the connection, mapping SQLite's errors to this package's.
func readOnly(ctx context.Context, path string, opts ReadOptions, fn func(*sql.Conn) error) (err error) {
	busy := opts.busyTimeout()
	start := time.Now()
	s, err := open(ctx, path, "ro", busy)
	if err != nil {
		return classify(path, err, time.Since(start), readBusyHint)
	}
	defer func() {
		if cerr := s.close(); err == nil && cerr != nil {
			err = fmt.Errorf("close %s: %w", path, cerr)
		}
	}()
	if _, err := s.conn.ExecContext(ctx, "BEGIN"); err != nil {
		return classify(path, err, time.Since(start), readBusyHint)
	}
	if err := smallCache(ctx, s.conn, fn); err != nil {
		s.conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK")
		return classify(path, err, time.Since(start), readBusyHint)
	}
	if _, err := s.conn.ExecContext(ctx, "COMMIT"); err != nil {
		return classify(path, err, time.Since(start), readBusyHint)
	}
	return nil
}

// readCacheKiB is the page cache of a read, in KiB. A read visits the
// pages of each table once, in order: a small cache holds the b-trees'
// upper pages, and SQLite's default of 2 MiB only added to the resident
// memory (3 MB of it, reading the scale scene's 10,180 agents).
const readCacheKiB = 256

// smallCache sets the connection's page cache to readCacheKiB, then runs
// fn. The PRAGMA reads the schema, so it may wait for a lock: it runs
// inside the read transaction, where a context that ends ends the wait,
// which it would not in the driver's open.
func smallCache(ctx context.Context, conn *sql.Conn, fn func(*sql.Conn) error) error {
	if _, err := conn.ExecContext(ctx, fmt.Sprintf("PRAGMA cache_size = -%d", readCacheKiB)); err != nil {
		return err
	}
	return fn(conn)
}

// read fills st from conn, inside the caller's transaction.
func (st *State) read(ctx context.Context, path string, conn *sql.Conn) error {
	// present records, per table, the columns read: part of what Version
	// hashes, so that a column added by a migration changes it.
	present := make(map[string][]string)
	detect := func(t tableSpec) (map[string]bool, error) {
		cols, err := columns(ctx, conn, t.name)
		for _, c := range t.cols {
			if cols[c] {
				present[t.name] = append(present[t.name], c)
			}
		}
		return cols, err
	}

	cols, err := detect(agentsTable)
	if err != nil {
		return err
	}
	if cols == nil {
		return fmt.Errorf("%s has no agents table: %w; it is not the orchestrator's state database (check the path)",
			path, ErrNoAgentsTable)
	}
	if missing := missingColumns(cols, agentsRequired); len(missing) > 0 {
		return fmt.Errorf("%s: its agents table lacks the column(s) %s: %w; it is not the orchestrator's state database",
			path, strings.Join(missing, ", "), ErrNoAgentsTable)
	}
	if err := st.readAgents(ctx, conn, cols); err != nil {
		return err
	}

	if cols, err = detect(tasksTable); err != nil {
		return err
	}
	if err := tasksTable.query(ctx, conn, cols, func(v []any) {
		st.Tasks = append(st.Tasks, Task{ID: text(v[0]), Status: text(v[1]), UpdatedAt: text(v[2])})
	}); err != nil {
		return err
	}

	if cols, err = detect(configTable); err != nil {
		return err
	}
	if err := configTable.query(ctx, conn, cols, func(v []any) {
		id := text(v[0])
		for i := range st.Tasks {
			if st.Tasks[i].ID == id && !st.Tasks[i].HasConfig {
				st.Tasks[i].MaxAgents, st.Tasks[i].MaxConcurrent = integer(v[1]), integer(v[2])
				st.Tasks[i].HasConfig = true
			}
		}
	}); err != nil {
		return err
	}

	if cols, err = detect(progressTable); err != nil {
		return err
	}
	if err := progressTable.query(ctx, conn, cols, func(v []any) {
		st.Progress = append(st.Progress, Progress{
			TaskID: text(v[0]), AgentID: text(v[1]), Timestamp: text(v[2]),
			Status: text(v[3]), Progress: integer(v[4]), Message: text(v[5]),
		})
	}); err != nil {
		return err
	}

	if cols, err = detect(hierarchyTable); err != nil {
		return err
	}
	if err := hierarchyTable.query(ctx, conn, cols, func(v []any) {
		st.Hierarchy = append(st.Hierarchy, Link{TaskID: text(v[0]), Parent: text(v[1]), Child: text(v[2])})
	}); err != nil {
		return err
	}

	st.Version = version(present, st)
	return nil
}

// tableSpec names a table, the columns read from it in order, and the
// ORDER BY (by column position) that makes its rows' order total.
type tableSpec struct {
	name  string
	cols  []string
	order string
}

// query selects t's columns (NULL for those not in present; nothing at all
// when the table is missing) and hands each row to each.
func (t tableSpec) query(ctx context.Context, conn *sql.Conn, present map[string]bool, each func([]any)) error {
	if present == nil {
		return nil
	}
	list := make([]string, len(t.cols))
	for i, c := range t.cols {
		list[i] = "NULL"
		if present[c] {
			list[i] = quoteIdent(c)
		}
	}
	q := "SELECT " + strings.Join(list, ", ") + " FROM " + quoteIdent(t.name)
	if t.order != "" {
		q += " ORDER BY " + t.order
	}
	return scan(ctx, conn, q, len(t.cols), each)
}

// scan runs q and hands each row's n values to each.
func scan(ctx context.Context, conn *sql.Conn, q string, n int, each func([]any), args ...any) error {
	return scanWhile(ctx, conn, q, n, func(v []any) bool { each(v); return true }, args...)
}

// scanWhile is scan, which stops at the first row that each returns false
// for.
func scanWhile(ctx context.Context, conn *sql.Conn, q string, n int, each func([]any) bool, args ...any) error {
	rows, err := conn.QueryContext(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	vals := make([]any, n)
	ptrs := make([]any, n)
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return err
		}
		if !each(vals) {
			break
		}
	}
	return rows.Err()
}

// columns returns the columns of table (PRAGMA table_info), nil when there
// is no such table.
func columns(ctx context.Context, conn *sql.Conn, table string) (map[string]bool, error) {
	var cols map[string]bool
	err := scan(ctx, conn, "PRAGMA table_info("+quoteIdent(table)+")", 6, func(v []any) {
		if cols == nil {
			cols = make(map[string]bool)
		}
		cols[text(v[1])] = true
	})
	return cols, err
}

// missingColumns lists the names in want that cols lacks.
func missingColumns(cols map[string]bool, want []string) []string {
	var missing []string
	for _, c := range want {
		if !cols[c] {
			missing = append(missing, c)
		}
	}
	slices.Sort(missing)
	return missing
}

// quoteIdent quotes an SQL identifier.
func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }
