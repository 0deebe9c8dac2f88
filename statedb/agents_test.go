package statedb_test

import (
	"context"
	"path/filepath"
	"reflect"
	"testing"

	"agentwatch/statedb"
)

// TestReadOrder checks that Read returns the agents in the order python3's
// SQLite gives them for ORDER BY task_id, started_at, agent_id: on the
// orchestrator's schema with rows written out of order, and on the
// databases where ordering the rows' text byte by byte would give another
// order (each case is built so that it does).
func TestReadOrder(t *testing.T) {
	tests := []struct{ name, script string }{
		{"the orchestrator's schema, rows written out of order", agentsDDL + `
			WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 299)
			INSERT INTO agents (agent_id, task_id, status, started_at)
			SELECT printf('agent-%03d', (i * 7919) % 300), printf('TASK-%d', (i * 31) % 4), 'working',
				CASE WHEN i % 17 = 0 THEN NULL ELSE printf('2026-12-05T10:%02d:00.000000', (i * 13) % 60) END
			FROM n;`},
		{"a NULL and a '' started_at", agentsDDL + `
			INSERT INTO agents (agent_id, task_id, status, started_at) VALUES
				('a', 'T', 'working', ''), ('z', 'T', 'working', NULL), ('m', 'T', 'working', '2026');`},
		{"a NULL and a '' task_id", `CREATE TABLE agents (agent_id TEXT, task_id TEXT, status TEXT, started_at TEXT);
			INSERT INTO agents VALUES ('a', '', 'working', 'x'), ('z', NULL, 'working', 'y');`},
		{"numbers among the task ids", `CREATE TABLE agents (agent_id TEXT, task_id, status TEXT, started_at TEXT);
			INSERT INTO agents VALUES ('a', '9', 'working', NULL), ('b', 10, 'working', NULL), ('c', 9.5, 'working', NULL);`},
		{"a blob among the task ids", `CREATE TABLE agents (agent_id TEXT, task_id, status TEXT, started_at TEXT);
			INSERT INTO agents VALUES ('a', X'41', 'working', NULL), ('b', 'B', 'working', NULL);`},
		{"a column that collates without case", `CREATE TABLE agents (agent_id TEXT COLLATE NOCASE, task_id TEXT,
				status TEXT, started_at TEXT);
			INSERT INTO agents VALUES ('B', 'T', 'working', 'x'), ('a', 'T', 'working', 'x');`},
		{"a UTF-16 database", `PRAGMA encoding = 'UTF-16le';` + agentsDDL + `
			INSERT INTO agents (agent_id, task_id, status, started_at) VALUES
				('a', 'T', 'working', char(65374)), ('b', 'T', 'working', char(128512));`},
		{"started_at declared as a DATETIME", `CREATE TABLE agents (agent_id TEXT, task_id TEXT, status TEXT,
				started_at DATETIME);
			INSERT INTO agents VALUES ('a', 'T', 'working', '2026-12-05T09:00:00'), ('b', 'T', 'working', '2026-12-05 10:00:00');`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "state.sqlite3")
			orch(t, path, "script", tc.script)
			var want []string
			for _, row := range orch(t, path, "query", "SELECT agent_id FROM agents ORDER BY task_id, started_at, agent_id") {
				want = append(want, row[0].(string))
			}
			st, err := statedb.Read(context.Background(), path, statedb.ReadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, a := range st.Agents {
				got = append(got, a.ID)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got agents in the order\n%v\nwant SQLite's\n%v", got, want)
			}
		})
	}
}

// untypedAgents is an agents table whose columns have no type, so that
// every value keeps the storage class it was written with.
const untypedAgents = `CREATE TABLE agents (agent_id, task_id, type, model, tmux_session, parent, depth, status, progress,
	started_at, last_update, completed_at);`

// TestReadAgentsAsJSON checks the quick read of the agents (one json_array
// text a row) against the read column by column, on every kind of value:
// where the quick read takes the table, it must give the same agents; on a
// REAL or a BLOB it must refuse the table (a BLOB may parse as JSONB, and
// json_array would then write it as some other value), as on a column the
// driver reads as a time, and Read must give what the read column by
// column gives.
func TestReadAgentsAsJSON(t *testing.T) {
	tests := []struct {
		name, script string
		quick        bool
	}{
		{"the fixture", "", true},
		{"text that json_array escapes", agentsDDL + `
			INSERT INTO agents (agent_id, task_id, type, model, tmux_session, parent, status, started_at, last_update, completed_at)
			VALUES ('q"uote\back\slash', 'T', char(1, 2, 8, 9, 10, 12, 13, 27, 31, 127), 'nul' || char(0) || 'inside', 'sl/ash''s',
				'', 'working', 'é ü 日本 😀', CAST(X'FF80C0' AS TEXT), NULL),
			('b', 'T', NULL, NULL, NULL, NULL, NULL, NULL, NULL, '');`, true},
		{"integers and text where numbers are expected", untypedAgents + `
			INSERT INTO agents VALUES ('a', 'T', 9223372036854775807, -9223372036854775808, 0, -1,
				' 7 ', 'working', '55', 'x', 'y', 'z'),
			('b', 'T', 'x', 'y', 'z', 'p', 'lots', 'done', '3.9', NULL, '', NULL),
			('c', 'T', NULL, NULL, NULL, NULL, 12, 'done', -40, 'x', NULL, NULL);`, true},
		{"a REAL", untypedAgents + `INSERT INTO agents VALUES ('a', 'T', 't', 'm', 's', 'p', 2.5, 'working', 0.1, 'x', 'y', 'z');`, false},
		{"a BLOB that parses as JSONB null", untypedAgents + `
			INSERT INTO agents VALUES ('a', 'T', X'00', 'm', 's', 'p', 1, 'working', 1, 'x', 'y', 'z');`, false},
		{"a BLOB that parses as an empty JSONB string", untypedAgents + `
			INSERT INTO agents VALUES ('a', 'T', 't', 'm', 's', 'p', 1, X'0A', 1, 'x', 'y', 'z');`, false},
		{"a column declared as a TIMESTAMP, whose text the driver reads as a time", `CREATE TABLE agents (agent_id TEXT,
				task_id TEXT, status TEXT, last_update TIMESTAMP);
			INSERT INTO agents VALUES ('a', 'T', 'working', '2026-12-05 10:00:00');`, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "state.sqlite3")
			if tc.script == "" {
				path = copyDB(t)
			} else {
				orch(t, path, "script", tc.script)
			}
			ctx := context.Background()
			quick, ok, columnwise, err := statedb.AgentsBothWays(ctx, path)
			if err != nil {
				t.Fatal(err)
			}
			if len(columnwise) == 0 {
				t.Fatal("the read column by column found no agents")
			}
			if ok != tc.quick {
				t.Fatalf("the quick read took the table: %v, want %v", ok, tc.quick)
			}
			if ok && !reflect.DeepEqual(quick, columnwise) {
				t.Errorf("read as json_array texts:\n%+v\nread column by column:\n%+v", quick, columnwise)
			}
			st, err := statedb.Read(ctx, path, statedb.ReadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(st.Agents, columnwise) {
				t.Errorf("Read gave:\n%+v\nread column by column:\n%+v", st.Agents, columnwise)
			}
		})
	}
}
