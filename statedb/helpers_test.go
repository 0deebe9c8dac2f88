package statedb_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"agentwatch/internal/pyscript"
)

// fixture is the workspace the orchestrator's own code wrote (see
// testdata/orchestrator-2026-sqlite at the repository's root). Tests only
// ever open copies of it: a read-only open may create -wal and -shm files.
const fixture = "../testdata/orchestrator-2026-sqlite"

var (
	fixtureDB    = filepath.Join(fixture, "project/.agent-workspace/registry/state.sqlite3")
	fixtureIndex = filepath.Join(fixture, "home/.claude-orchestrator/global_registry.sqlite3")
)

// The fixture's two tasks.
const (
	taskA = "TASK-20261205-173221-188fc597"
	taskB = "TASK-20261205-173222-bfcbcbec"
)

// copyFile copies src to dst, creating dst's directory.
func copyFile(t testing.TB, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// copyDB copies the fixture's state database into a fresh temporary
// directory and returns the copy's path.
func copyDB(t testing.TB) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "registry", "state.sqlite3")
	copyFile(t, fixtureDB, dst)
	return dst
}

// copyTree copies the directory src into dst.
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		copyFile(t, p, filepath.Join(dst, rel))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// hashTree returns the sha256 of every regular file under dir, by path
// relative to dir.
func hashTree(t *testing.T, dir string) map[string]string {
	t.Helper()
	sums := make(map[string]string)
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		sum := sha256.Sum256(b)
		sums[rel] = hex.EncodeToString(sum[:])
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return sums
}

// readBytes returns a file's content.
func readBytes(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// exists reports whether path exists (without following a symlink).
func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

// --- python3, playing the orchestrator ---------------------------------

// runOrch runs testdata/orch.py on the database at path and returns what it
// printed.
func runOrch(t testing.TB, path, kind, sql string, params ...any) []byte {
	t.Helper()
	py := pyscript.Python(t)
	if params == nil {
		params = []any{}
	}
	pj, err := json.Marshal(params)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(py, filepath.Join("testdata", "orch.py"), path, kind, sql, string(pj))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("orch.py %s %q: %v: %s", kind, sql, err, stderr.String())
	}
	return out
}

// orch runs one statement on the database at path through python3's sqlite3
// module, as the orchestrator would (kind "write": a BEGIN IMMEDIATE
// transaction; "query": a plain read; "script": several statements), and
// returns its rows.
func orch(t *testing.T, path, kind, sql string, params ...any) [][]any {
	t.Helper()
	out := runOrch(t, path, kind, sql, params...)
	var rows [][]any
	if err := json.Unmarshal(out, &rows); err != nil {
		t.Fatalf("orch.py %s %q: %v in %q", kind, sql, err, out)
	}
	return rows
}

// dbDump is every row of every table of a database, and its integrity
// check, as python3 reads them.
type dbDump struct {
	Integrity [][]any
	Tables    map[string]struct {
		Columns []string
		Rows    [][]any
	}
}

// dump reads the whole database at path through python3 in one process.
func dump(t *testing.T, path string) dbDump {
	t.Helper()
	out := runOrch(t, path, "dump", "")
	var d dbDump
	if err := json.Unmarshal(out, &d); err != nil {
		t.Fatalf("orch.py dump: %v in %q", err, out)
	}
	return d
}

// rows returns the rows of table that keep accepts, each as a map by
// column name.
func (d dbDump) rows(table string, keep func(row map[string]any) bool) []map[string]any {
	tb := d.Tables[table]
	var out []map[string]any
	for _, r := range tb.Rows {
		m := make(map[string]any)
		for i, c := range tb.Columns {
			m[c] = r[i]
		}
		if keep(m) {
			out = append(out, m)
		}
	}
	return out
}

// of and notOf select the rows of one agent, or of every other.
func of(id string) func(map[string]any) bool {
	return func(r map[string]any) bool { return r["agent_id"] == id }
}
func notOf(id string) func(map[string]any) bool {
	return func(r map[string]any) bool { return r["agent_id"] != id }
}

// agent returns an agent's agents row by column name; nil when absent.
func (d dbDump) agent(t *testing.T, id string) map[string]any {
	t.Helper()
	rows := d.rows("agents", of(id))
	if len(rows) > 1 {
		t.Fatalf("got %d agents rows for %s", len(rows), id)
	}
	if len(rows) == 0 {
		return nil
	}
	return rows[0]
}

// progress returns an agent's agent_progress_latest rows.
func (d dbDump) progress(id string) []map[string]any {
	return d.rows("agent_progress_latest", of(id))
}

// others is every row of every table but an agent's agents and
// agent_progress_latest rows: what a repair of that agent leaves alone.
func (d dbDump) others(id string) map[string][]map[string]any {
	out := make(map[string][]map[string]any)
	for name := range d.Tables {
		if name == "agents" || name == "agent_progress_latest" {
			out[name] = d.rows(name, notOf(id))
		} else {
			out[name] = d.rows(name, func(map[string]any) bool { return true })
		}
	}
	return out
}

// checkIntegrity fails the test unless the dump's integrity check says ok.
func (d dbDump) checkIntegrity(t *testing.T) {
	t.Helper()
	if len(d.Integrity) != 1 || len(d.Integrity[0]) != 1 || d.Integrity[0][0] != "ok" {
		t.Errorf("integrity_check: got %v, want [[ok]]", d.Integrity)
	}
}
