package statedb_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"agentwatch/internal/pyscript"
	"agentwatch/statedb"
)

func TestPaths(t *testing.T) {
	tests := []struct {
		name, got, want string
	}{
		{"PathOf", statedb.PathOf("/p/.agent-workspace"), "/p/.agent-workspace/registry/state.sqlite3"},
		{"IndexPath", statedb.IndexPath("/home/u"), "/home/u/.claude-orchestrator/global_registry.sqlite3"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.got != filepath.FromSlash(tc.want) {
				t.Errorf("got %s, want %s", tc.got, tc.want)
			}
		})
	}
}

// TestReadFixture reads the database the orchestrator's own code wrote and
// checks every agent of orchestrator-2026.md §5.4, the progress and
// hierarchy rows and the tasks' caps.
func TestReadFixture(t *testing.T) {
	path := copyDB(t)
	st, err := statedb.Read(context.Background(), path, statedb.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if st.Path != path {
		t.Errorf("got Path %s, want %s", st.Path, path)
	}
	const opus, sonnet = "claude-opus-4-7", "claude-sonnet-4-6"
	want := []statedb.Agent{
		{ID: "investigator-173222-159664", TaskID: taskA, Type: "investigator", Model: opus, Parent: "orchestrator", Depth: 1,
			Status: "running", Progress: 0, StartedAt: "2026-12-05T17:32:24.862866", LastUpdate: "2026-12-05T17:32:24.862866"},
		{ID: "builder-173224-364e3b", TaskID: taskA, Type: "builder", Model: opus, Parent: "orchestrator", Depth: 1,
			Status: "working", Progress: 40, StartedAt: "2026-12-05T17:32:27.135047", LastUpdate: "2026-12-05T17:32:27.155000"},
		{ID: "test_writer-173227-69f755", TaskID: taskA, Type: "test_writer", Model: sonnet, Parent: "builder-173224-364e3b", Depth: 2,
			Status: "blocked", Progress: 20, StartedAt: "2026-12-05T17:32:29.432401", LastUpdate: "2026-12-05T17:32:29.524605"},
		{ID: "code_auditor-173229-323135", TaskID: taskA, Type: "code_auditor", Model: sonnet, Parent: "orchestrator", Depth: 1,
			Status: "completed", Progress: 100, StartedAt: "2026-12-05T17:32:31.964711", LastUpdate: "2026-12-05T17:32:35.277469",
			CompletedAt: "2026-12-05T17:32:35.277469"},
		{ID: "migration_runner-173232-f2ac3b", TaskID: taskA, Type: "migration_runner", Model: sonnet, Parent: "orchestrator", Depth: 1,
			Status: "failed", Progress: 0, StartedAt: "2026-12-05T17:32:34.518399", LastUpdate: "2026-12-05T17:32:38.181496",
			CompletedAt: "2026-12-05T17:32:38.181496"},
		{ID: "perf_profiler-173234-3008b5", TaskID: taskA, Type: "perf_profiler", Model: sonnet, Parent: "orchestrator", Depth: 1,
			Status: "terminated", Progress: 0, StartedAt: "2026-12-05T17:32:36.716722", LastUpdate: "2026-12-05T17:32:37.723816"},
		{ID: "doc_writer-173237-a4bc87", TaskID: taskB, Type: "doc_writer", Model: sonnet, Parent: "orchestrator", Depth: 1,
			Status: "phase_completed", Progress: 100, StartedAt: "2026-12-05T17:32:40.027240", LastUpdate: "2026-12-05T17:32:40.053793"},
		{ID: "link_checker-173240-ed1440", TaskID: taskB, Type: "link_checker", Model: sonnet, Parent: "orchestrator", Depth: 1,
			Status: "working", Progress: 60, StartedAt: "2026-12-05T17:32:42.180913", LastUpdate: "2026-12-05T17:32:42.218085"},
		{ID: "anchor_checker-173242-f0354f", TaskID: taskB, Type: "anchor_checker", Model: sonnet, Parent: "link_checker-173240-ed1440", Depth: 2,
			Status: "running", Progress: 0, StartedAt: "2026-12-05T17:32:44.464869", LastUpdate: "2026-12-05T17:32:44.464869"},
		{ID: "api_doc_gen-173244-3de2dd", TaskID: taskB, Type: "api_doc_gen", Model: sonnet, Parent: "orchestrator", Depth: 1,
			Status: "completed", Progress: 100, StartedAt: "2026-12-05T17:32:46.592009", LastUpdate: "2026-12-05T17:32:46.598607",
			CompletedAt: "2026-12-05T17:32:46.598607"},
	}
	for i := range want {
		want[i].TmuxSession = "agent_" + want[i].ID
	}
	if len(st.Agents) != len(want) {
		t.Fatalf("got %d agents, want %d", len(st.Agents), len(want))
	}
	for i, w := range want {
		t.Run("agent "+w.ID, func(t *testing.T) {
			if got := st.Agents[i]; got != w {
				t.Errorf("got %+v, want %+v", got, w)
			}
		})
	}

	t.Run("progress", func(t *testing.T) {
		if len(st.Progress) != 8 {
			t.Fatalf("got %d progress rows, want 8", len(st.Progress))
		}
		byAgent := make(map[string]statedb.Progress)
		for _, p := range st.Progress {
			byAgent[p.AgentID] = p
		}
		for _, id := range []string{"investigator-173222-159664", "anchor_checker-173242-f0354f"} {
			if p, ok := byAgent[id]; ok {
				t.Errorf("got a progress row for %s: %+v, want none", id, p)
			}
		}
		wantRow := statedb.Progress{TaskID: taskA, AgentID: "builder-173224-364e3b", Timestamp: "2026-12-05T17:32:27.155000",
			Status: "working", Progress: 40, Message: "Reading auth/refresh.py; two race windows found so far"}
		if got := byAgent[wantRow.AgentID]; got != wantRow {
			t.Errorf("got %+v, want %+v", got, wantRow)
		}
		if got := byAgent["perf_profiler-173234-3008b5"].Message; got != "Agent terminated: Superseded by builder findings" {
			t.Errorf("got perf_profiler message %q, want the kill's", got)
		}
	})

	t.Run("hierarchy", func(t *testing.T) {
		want := []statedb.Link{
			{TaskID: taskA, Parent: "builder-173224-364e3b", Child: "test_writer-173227-69f755"},
			{TaskID: taskB, Parent: "link_checker-173240-ed1440", Child: "anchor_checker-173242-f0354f"},
		}
		if !reflect.DeepEqual(st.Hierarchy, want) {
			t.Errorf("got %+v, want %+v", st.Hierarchy, want)
		}
	})

	t.Run("tasks", func(t *testing.T) {
		want := []statedb.Task{
			{ID: taskA, Status: "ACTIVE", UpdatedAt: "2026-12-05T17:32:38.181496", MaxAgents: 45, MaxConcurrent: 20, HasConfig: true},
			{ID: taskB, Status: "INITIALIZED", UpdatedAt: "2026-12-05T17:32:58.695615", MaxAgents: 45, MaxConcurrent: 20, HasConfig: true},
		}
		if !reflect.DeepEqual(st.Tasks, want) {
			t.Errorf("got %+v, want %+v", st.Tasks, want)
		}
	})

	if len(st.Version) != 64 {
		t.Errorf("got Version %q, want a hex sha256", st.Version)
	}
}

// TestReadLeavesFixtureUnchanged reads a copy of the whole fixture and
// proves that every file it held is byte-identical afterwards, and that no
// file but SQLite's own -wal and -shm sidecars appeared.
func TestReadLeavesFixtureUnchanged(t *testing.T) {
	dir := t.TempDir()
	copyTree(t, fixture, dir)
	before := hashTree(t, dir)
	db := filepath.Join(dir, "project/.agent-workspace/registry/state.sqlite3")
	index := filepath.Join(dir, "home/.claude-orchestrator/global_registry.sqlite3")
	dbBytes := readBytes(t, db)

	ctx := context.Background()
	for range 3 {
		if _, err := statedb.Read(ctx, db, statedb.ReadOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := statedb.KnownWorkspaces(ctx, index, statedb.ReadOptions{}); err != nil {
			t.Fatal(err)
		}
	}

	after := hashTree(t, dir)
	for name, sum := range before {
		if after[name] != sum {
			t.Errorf("%s: got sha256 %s after the reads, want %s", name, after[name], sum)
		}
	}
	for name := range after {
		if _, ok := before[name]; ok {
			continue
		}
		if !strings.HasSuffix(name, ".sqlite3-wal") && !strings.HasSuffix(name, ".sqlite3-shm") {
			t.Errorf("got a new file %s, want none but SQLite's -wal and -shm", name)
		}
		if strings.HasSuffix(name, "-wal") {
			if fi, err := os.Stat(filepath.Join(dir, name)); err != nil || fi.Size() != 0 {
				t.Errorf("%s: got %v, size %d; want an empty -wal (no write)", name, err, fi.Size())
			}
		}
	}
	if got := readBytes(t, db); string(got) != string(dbBytes) {
		t.Errorf("the database's bytes changed")
	}
}

func TestKnownWorkspaces(t *testing.T) {
	ctx := context.Background()
	t.Run("fixture", func(t *testing.T) {
		index := filepath.Join(t.TempDir(), "global_registry.sqlite3")
		copyFile(t, fixtureIndex, index)
		got, err := statedb.KnownWorkspaces(ctx, index, statedb.ReadOptions{})
		want := []string{"/tmp/awsq-fixture-build/project/.agent-workspace"}
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("got %q, %v; want %q", got, err, want)
		}
	})

	tests := []struct {
		name, script string
		want         []string
	}{
		{
			name: "active rows only, last accessed first",
			script: `CREATE TABLE known_workspaces (workspace_base TEXT PRIMARY KEY, project_name TEXT, client_cwd TEXT,
				first_seen TEXT, last_accessed TEXT, task_count INTEGER DEFAULT 0, is_active INTEGER DEFAULT 1);
				INSERT INTO known_workspaces (workspace_base, last_accessed, is_active) VALUES
				('/a/.agent-workspace', '2026-12-01T10:00:00.000000', 1),
				('/gone/.agent-workspace', '2026-12-06T10:00:00.000000', 0),
				('/b/.agent-workspace', '2026-12-05T10:00:00.000000', 1);`,
			want: []string{"/b/.agent-workspace", "/a/.agent-workspace"},
		},
		{
			name: "no is_active or last_accessed column: every row",
			script: `CREATE TABLE known_workspaces (workspace_base TEXT PRIMARY KEY);
				INSERT INTO known_workspaces VALUES ('/y/.agent-workspace'), ('/x/.agent-workspace');`,
			want: []string{"/x/.agent-workspace", "/y/.agent-workspace"},
		},
		{
			name:   "no known_workspaces table",
			script: `CREATE TABLE task_index (task_id TEXT PRIMARY KEY);`,
			want:   nil,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			index := filepath.Join(t.TempDir(), "global_registry.sqlite3")
			orch(t, index, "script", tc.script)
			got, err := statedb.KnownWorkspaces(ctx, index, statedb.ReadOptions{})
			if err != nil || !slices.Equal(got, tc.want) {
				t.Errorf("got %q, %v; want %q", got, err, tc.want)
			}
		})
	}

	t.Run("missing index", func(t *testing.T) {
		index := filepath.Join(t.TempDir(), "global_registry.sqlite3")
		_, err := statedb.KnownWorkspaces(ctx, index, statedb.ReadOptions{})
		if !errors.Is(err, fs.ErrNotExist) || exists(index) {
			t.Errorf("got %v (created: %v), want fs.ErrNotExist and no file", err, exists(index))
		}
	})
}

// agentsDDL is the orchestrator's agents table, as the fixture stores it.
const agentsDDL = `CREATE TABLE agents (agent_id TEXT PRIMARY KEY, task_id TEXT NOT NULL, type TEXT, model TEXT,
	tmux_session TEXT, parent TEXT, depth INTEGER, phase_index INTEGER, claude_pid INTEGER, cursor_pid INTEGER,
	tracked_files TEXT, started_at TEXT, completed_at TEXT, status TEXT, progress INTEGER, last_update TEXT,
	prompt_preview TEXT, review_id TEXT, final_verdict TEXT);`

// TestReadBadInput feeds Read everything that is not a sound state
// database and checks the sentinel, that the message says what to do, and
// that nothing was created.
func TestReadBadInput(t *testing.T) {
	tests := []struct {
		name string
		// make creates the input in dir and returns its path.
		make    func(t *testing.T, dir string) string
		want    error
		message string // a part of the message that says what is wrong or what to do
	}{
		{
			name: "text file",
			make: func(t *testing.T, dir string) string {
				p := filepath.Join(dir, "state.sqlite3")
				os.WriteFile(p, []byte(strings.Repeat("this is a note, not a database\n", 200)), 0o644)
				return p
			},
			want: statedb.ErrNotDatabase, message: "check the path",
		},
		{
			name: "truncated copy",
			make: func(t *testing.T, dir string) string {
				p := filepath.Join(dir, "state.sqlite3")
				os.WriteFile(p, readBytes(t, fixtureDB)[:4096], 0o644)
				return p
			},
			want: statedb.ErrNotDatabase, message: "damaged",
		},
		{
			name: "empty file",
			make: func(t *testing.T, dir string) string {
				p := filepath.Join(dir, "state.sqlite3")
				os.WriteFile(p, nil, 0o644)
				return p
			},
			want: statedb.ErrNotDatabase, message: "empty file",
		},
		{
			name: "fifo",
			make: func(t *testing.T, dir string) string {
				p := filepath.Join(dir, "state.sqlite3")
				if err := syscall.Mkfifo(p, 0o644); err != nil {
					t.Fatal(err)
				}
				return p
			},
			want: statedb.ErrNotDatabase, message: "named pipe",
		},
		{
			name: "directory",
			make: func(t *testing.T, dir string) string {
				p := filepath.Join(dir, "state.sqlite3")
				os.Mkdir(p, 0o755)
				return p
			},
			want: statedb.ErrNotDatabase, message: "point at the database file",
		},
		{
			name: "no agents table",
			make: func(t *testing.T, dir string) string {
				p := filepath.Join(dir, "state.sqlite3")
				orch(t, p, "script", `CREATE TABLE tasks (task_id TEXT PRIMARY KEY, status TEXT);
					INSERT INTO tasks VALUES ('T', 'ACTIVE');`)
				return p
			},
			want: statedb.ErrNoAgentsTable, message: "no agents table",
		},
		{
			name: "agents table without a status column",
			make: func(t *testing.T, dir string) string {
				p := filepath.Join(dir, "state.sqlite3")
				orch(t, p, "script", `CREATE TABLE agents (agent_id TEXT, task_id TEXT);`)
				return p
			},
			want: statedb.ErrNoAgentsTable, message: "lacks the column(s) status",
		},
		{
			name: "missing file",
			make: func(t *testing.T, dir string) string { return filepath.Join(dir, "registry", "state.sqlite3") },
			want: fs.ErrNotExist, message: "nothing was created",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := tc.make(t, dir)
			existed := exists(path)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			st, err := statedb.Read(ctx, path, statedb.ReadOptions{BusyTimeout: 200 * time.Millisecond})
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %+v, %v; want an error matching %v", st, err, tc.want)
			}
			if ctx.Err() != nil {
				t.Errorf("Read took longer than 10s")
			}
			if !strings.Contains(err.Error(), tc.message) || !strings.Contains(err.Error(), path) {
				t.Errorf("got message %q, want it to name %s and say %q", err, path, tc.message)
			}
			if !strings.HasPrefix(err.Error(), "read state database: ") {
				t.Errorf("got message %q, want the prefix %q", err, "read state database: ")
			}
			if exists(path) != existed {
				t.Errorf("got the file existing %v after Read, want %v", exists(path), existed)
			}
		})
	}
}

// TestReadSchemaVariants reads databases whose tables differ from the
// fixture's: columns added or missing, tables missing, statuses unknown.
func TestReadSchemaVariants(t *testing.T) {
	tests := []struct {
		name, script string
		wantAgents   []statedb.Agent
		wantTasks    []statedb.Task
		wantProgress int
		wantLinks    int
	}{
		{
			name: "minimal agents columns, no other table",
			script: `CREATE TABLE agents (agent_id TEXT, task_id TEXT, status TEXT);
				INSERT INTO agents VALUES ('b-1', 'T', 'working'), ('a-1', 'T', 'running');`,
			// no started_at: ordered by task_id, then agent_id
			wantAgents: []statedb.Agent{{ID: "a-1", TaskID: "T", Status: "running"}, {ID: "b-1", TaskID: "T", Status: "working"}},
		},
		{
			name: "extra columns everywhere",
			script: agentsDDL + `ALTER TABLE agents ADD COLUMN future_column TEXT;
				CREATE TABLE tasks (task_id TEXT PRIMARY KEY, status TEXT, updated_at TEXT, shiny TEXT);
				CREATE TABLE agent_progress_latest (task_id TEXT, agent_id TEXT, timestamp TEXT, status TEXT,
					progress INTEGER, message TEXT, mood TEXT);
				INSERT INTO tasks VALUES ('T', 'ACTIVE', '2026-12-05T10:00:00.000000', 'x');
				INSERT INTO agents (agent_id, task_id, type, status, progress, depth, started_at, future_column)
					VALUES ('w-1', 'T', 'w', 'working', 7, 1, '2026-12-05T10:00:00.000000', 'zzz');
				INSERT INTO agent_progress_latest VALUES ('T', 'w-1', '2026-12-05T10:00:01.000000', 'working', 7, 'hi', 'ok');`,
			wantAgents: []statedb.Agent{{ID: "w-1", TaskID: "T", Type: "w", Status: "working", Progress: 7, Depth: 1,
				StartedAt: "2026-12-05T10:00:00.000000"}},
			wantTasks:    []statedb.Task{{ID: "T", Status: "ACTIVE", UpdatedAt: "2026-12-05T10:00:00.000000"}},
			wantProgress: 1,
		},
		{
			name: "a status in neither set is returned as it is",
			script: agentsDDL + `INSERT INTO agents (agent_id, task_id, status, progress) VALUES ('u-1', 'T', 'in_progress', 50);
				CREATE TABLE task_config (task_id TEXT PRIMARY KEY, max_agents INTEGER, max_concurrent INTEGER);
				INSERT INTO task_config VALUES ('T', 45, 20);`,
			wantAgents: []statedb.Agent{{ID: "u-1", TaskID: "T", Status: "in_progress", Progress: 50}},
		},
		{
			name: "values of unexpected types",
			script: `CREATE TABLE agents (agent_id TEXT, task_id TEXT, status, progress, depth);
				INSERT INTO agents VALUES ('n-1', 'T', 3, '55', 2.0), ('n-2', 'T', NULL, 'lots', NULL);
				CREATE TABLE agent_hierarchy (id INTEGER PRIMARY KEY, task_id TEXT, parent_agent_id TEXT, child_agent_id TEXT);
				INSERT INTO agent_hierarchy (task_id, parent_agent_id, child_agent_id) VALUES ('T', 'n-1', 'n-2');`,
			wantAgents: []statedb.Agent{{ID: "n-1", TaskID: "T", Status: "3", Progress: 55, Depth: 2}, {ID: "n-2", TaskID: "T"}},
			wantLinks:  1,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "state.sqlite3")
			orch(t, path, "script", tc.script)
			st, err := statedb.Read(context.Background(), path, statedb.ReadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(st.Agents, tc.wantAgents) {
				t.Errorf("got agents %+v, want %+v", st.Agents, tc.wantAgents)
			}
			if !reflect.DeepEqual(st.Tasks, tc.wantTasks) {
				t.Errorf("got tasks %+v, want %+v", st.Tasks, tc.wantTasks)
			}
			if len(st.Progress) != tc.wantProgress || len(st.Hierarchy) != tc.wantLinks {
				t.Errorf("got %d progress and %d hierarchy rows, want %d and %d",
					len(st.Progress), len(st.Hierarchy), tc.wantProgress, tc.wantLinks)
			}
		})
	}
}

// TestReadEscapedPath reads a copy of the fixture under a directory whose
// name holds every character with a meaning in a URI.
func TestReadEscapedPath(t *testing.T) {
	for _, name := range []string{"with space", "what?mode=rw", "hash#frag", "percent%20x", "amp&_pragma=x", "ünï"} {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), name, "registry")
			path := filepath.Join(dir, statedb.FileName)
			copyFile(t, fixtureDB, path)
			st, err := statedb.Read(context.Background(), path, statedb.ReadOptions{})
			if err != nil || len(st.Agents) != 10 {
				t.Fatalf("got %v, want the fixture's 10 agents", err)
			}
			entries, _ := os.ReadDir(filepath.Dir(filepath.Dir(dir)))
			if len(entries) != 1 || entries[0].Name() != name {
				t.Errorf("got directory entries %v beside %q, want only it (no file made at a mangled path)", entries, name)
			}
		})
	}
}

// TestReadVersion checks that Version stays while nothing changes and moves
// when the orchestrator writes.
func TestReadVersion(t *testing.T) {
	path := copyDB(t)
	ctx := context.Background()
	read := func() string {
		t.Helper()
		st, err := statedb.Read(ctx, path, statedb.ReadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return st.Version
	}
	v1, v2 := read(), read()
	if v1 != v2 {
		t.Errorf("got versions %s and %s for two reads of unchanged data, want equal", v1, v2)
	}
	orch(t, path, "write", "UPDATE tasks SET status = 'ACTIVE' WHERE task_id = ?", taskA) // the same value
	if v3 := read(); v3 != v1 {
		t.Errorf("got version %s after a write that changed no value, want %s", v3, v1)
	}
	orch(t, path, "write", "UPDATE agents SET progress = 41 WHERE agent_id = 'builder-173224-364e3b'")
	if v4 := read(); v4 == v1 {
		t.Errorf("got version %s after the orchestrator changed a row, want another", v4)
	}
}

// requireRoot skips a test that needs to chown files to another user.
func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to give a database to another user")
	}
}

// nobody is the uid the ownership tests give the database to.
const nobody = 65534

// TestReadForeignOwner checks the -shm rule: a database of another user
// without its -shm is not opened (opening would create sidecars that user
// could not write); with its -shm present it is read.
func TestReadForeignOwner(t *testing.T) {
	requireRoot(t)
	ctx := context.Background()
	path := copyDB(t)
	if err := os.Chown(path, nobody, nobody); err != nil {
		t.Fatal(err)
	}

	calls := []struct {
		name string
		call func() error
	}{
		{"Read", func() error { _, err := statedb.Read(ctx, path, statedb.ReadOptions{}); return err }},
		{"KnownWorkspaces", func() error { _, err := statedb.KnownWorkspaces(ctx, path, statedb.ReadOptions{}); return err }},
		{"Apply", func() error {
			_, _, err := statedb.Apply(ctx, path, statedb.Repair{AgentID: "builder-173224-364e3b", TaskID: taskA,
				From: "working", To: "failed", Now: "2026-12-05T18:00:00.000000"}, time.Second)
			return err
		}},
	}
	for _, c := range calls {
		t.Run(c.name+" without -shm", func(t *testing.T) {
			err := c.call()
			var foreign *statedb.ForeignOwnerError
			if !errors.As(err, &foreign) {
				t.Fatalf("got %v, want a *ForeignOwnerError", err)
			}
			if foreign.Owner != nobody || foreign.User != 0 || foreign.Path != path {
				t.Errorf("got %+v, want owner %d, user 0, path %s", foreign, nobody, path)
			}
			for _, part := range []string{"uid 65534", "run agentwatch as", "-shm"} {
				if !strings.Contains(err.Error(), part) {
					t.Errorf("got message %q, want it to say %q", err, part)
				}
			}
			for _, side := range []string{path + "-shm", path + "-wal", path + "-journal"} {
				if exists(side) {
					t.Errorf("got %s created, want nothing created", side)
				}
			}
		})
	}

	t.Run("Read with the owner's -shm present", func(t *testing.T) {
		// The orchestrator's connection is open, or was and left its -shm.
		if err := os.WriteFile(path+"-shm", nil, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(path+"-shm", nobody, nobody); err != nil {
			t.Fatal(err)
		}
		st, err := statedb.Read(ctx, path, statedb.ReadOptions{})
		if err != nil || len(st.Agents) != 10 {
			t.Fatalf("got %v, want the fixture's 10 agents", err)
		}
		// SQLite, run by root, hands a sidecar it creates (here the -wal) to
		// the database's owner: the orchestrator can still write both.
		for _, side := range []string{path + "-shm", path + "-wal"} {
			fi, err := os.Stat(side)
			if err != nil {
				t.Fatal(err)
			}
			if uid := fi.Sys().(*syscall.Stat_t).Uid; uid != nobody {
				t.Errorf("%s: got owner uid %d, want %d", side, uid, nobody)
			}
		}
	})
}

// TestReadBusy holds a lock that shuts readers out with a real python3
// connection and checks that Read gives up after its busy timeout.
func TestReadBusy(t *testing.T) {
	tests := []struct {
		name string
		// prepare turns the copy into the database the holder locks.
		prepare func(t *testing.T, path string)
		mode    string
	}{
		{
			name: "rollback journal, writer holds EXCLUSIVE",
			prepare: func(t *testing.T, path string) {
				orch(t, path, "query", "PRAGMA journal_mode=DELETE")
			},
			mode: "exclusive",
		},
		{
			name:    "WAL, locking_mode=EXCLUSIVE",
			prepare: func(t *testing.T, path string) {},
			mode:    "wal-exclusive",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := copyDB(t)
			tc.prepare(t, path)
			holder := pyscript.Start(t, "hold.py", path, tc.mode)
			holder.Expect(t, "locked")

			const timeout = 200 * time.Millisecond
			start := time.Now()
			st, err := statedb.Read(context.Background(), path, statedb.ReadOptions{BusyTimeout: timeout})
			waited := time.Since(start)
			if !errors.Is(err, statedb.ErrBusy) {
				t.Fatalf("got %+v, %v; want ErrBusy", st, err)
			}
			if waited < timeout {
				t.Errorf("got a wait of %v, want at least %v", waited, timeout)
			}
			if !strings.Contains(err.Error(), "stayed locked") || !strings.Contains(err.Error(), "ms") {
				t.Errorf("got message %q, want it to say how long it waited", err)
			}

			// A context that ends first ends the wait.
			ctx, cancel := context.WithTimeout(context.Background(), timeout)
			defer cancel()
			start = time.Now()
			_, err = statedb.Read(ctx, path, statedb.ReadOptions{BusyTimeout: time.Minute})
			if waited := time.Since(start); !errors.Is(err, context.DeadlineExceeded) || waited > 30*time.Second {
				t.Errorf("with a context ending after %v: got %v after %v, want context.DeadlineExceeded", timeout, err, waited)
			}

			holder.Send(t)
			holder.Expect(t, "released")
			holder.WaitClean(t)
			if st, err := statedb.Read(context.Background(), path, statedb.ReadOptions{BusyTimeout: timeout}); err != nil || len(st.Agents) != 10 {
				t.Errorf("after the holder let go: got %v, want the fixture's 10 agents", err)
			}
		})
	}
}

// TestReadForeignOwnerAsUser re-runs this test binary as uid 65534 on a
// database owned by root in a directory that user may write: it must open
// the database only when both sidecars exist, since SQLite run by a user
// other than root cannot hand the files it creates to their owner.
func TestReadForeignOwnerAsUser(t *testing.T) {
	requireRoot(t)
	setpriv, err := exec.LookPath("setpriv")
	if err != nil {
		t.Skip("setpriv not found: it runs the reader as another user")
	}
	// A copy of the test binary that the other user may run, in a
	// directory it may enter.
	binDir := worldDir(t, 0o755)
	bin := filepath.Join(binDir, "statedb.test")
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	copyFile(t, self, bin)
	if err := os.Chmod(bin, 0o755); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name string
		// open: the orchestrator has a connection open (its -shm and -wal
		// exist); shm: only an empty -shm exists.
		open, shm bool
		want      string
	}{
		{name: "no sidecars", want: "foreign -shm"},
		{name: "-shm without -wal", shm: true, want: "foreign -wal"},
		{name: "the orchestrator's connection open", open: true, want: "agents 10"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := worldDir(t, 0o777)
			path := filepath.Join(dir, statedb.FileName)
			copyFile(t, fixtureDB, path)
			if tc.shm {
				if err := os.WriteFile(path+"-shm", nil, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if tc.open {
				holder := pyscript.Start(t, "hold.py", path, "open")
				holder.Expect(t, "locked")
				t.Cleanup(func() { holder.Send(t); <-holder.Done })
			}
			sidecars := map[string]bool{"-shm": exists(path + "-shm"), "-wal": exists(path + "-wal")}

			cmd := exec.Command(setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", bin)
			cmd.Env = append(os.Environ(), roleEnv+"=read", pathEnv+"="+path)
			var stdout, stderr strings.Builder
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			pid := cmd.Process.Pid
			t.Cleanup(func() {
				if err := cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
					t.Logf("kill reader PID %d: %v", pid, err)
				}
			})
			if err := cmd.Wait(); err != nil {
				t.Fatalf("reader as uid 65534: %v: %s", err, stderr.String())
			}
			if got := strings.TrimSpace(stdout.String()); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
			for side, was := range sidecars {
				if exists(path+side) != was {
					t.Errorf("%s: got existing %v after the read, want %v", side, !was, was)
				}
			}
			entries, err := os.ReadDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range entries {
				fi, err := e.Info()
				if err == nil && fi.Sys().(*syscall.Stat_t).Uid == nobody {
					t.Errorf("got %s owned by uid %d, want every file the orchestrator's", e.Name(), nobody)
				}
			}
		})
	}
}

// worldDir makes a temporary directory with mode perm, which another user
// can enter (t.TempDir's parent is private), removed when the test ends.
func worldDir(t *testing.T, perm os.FileMode) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "statedb-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, perm); err != nil {
		t.Fatal(err)
	}
	return dir
}
