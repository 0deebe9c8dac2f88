package reconcile

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"agentwatch/registry"
	"agentwatch/registry/pyjson"
)

// leanInput is in with every document read again as a check reads it: a
// lean read of its bytes, the agents and tasks as rows.
func leanInput(t *testing.T, in Input) Input {
	t.Helper()
	dir := t.TempDir()
	store := &registry.Store{StateDir: t.TempDir()}
	out := in
	out.Registries = nil
	for i, r := range in.Registries {
		if r.Root != nil {
			path := filepath.Join(dir, "r"+string(rune('a'+i))+".json")
			if err := os.WriteFile(path, pyjson.Encode(r.Root), 0o644); err != nil {
				t.Fatal(err)
			}
			snap, err := store.ReadLean(context.Background(), path)
			if err != nil {
				t.Fatalf("lean read of %s: %v", r.Path, err)
			}
			r.Root, r.Rows = snap.Root, snap.Rows
		}
		out.Registries = append(out.Registries, r)
	}
	return out
}

// samePlans checks that a plan made from lean reads is the plan made from
// whole documents, to the status each operation expects.
func samePlans(t *testing.T, whole, lean Plan) {
	t.Helper()
	if !reflect.DeepEqual(whole.Ops, lean.Ops) {
		t.Errorf("plan from lean reads:\n%s\nfrom whole documents:\n%s", opKeys(lean.Ops), opKeys(whole.Ops))
	}
	for i := range min(len(whole.Ops), len(lean.Ops)) {
		if string(whole.Ops[i].Expect) != string(lean.Ops[i].Expect) {
			t.Errorf("op %d expects %s from a lean read, %s from the whole document", i, lean.Ops[i].Expect, whole.Ops[i].Expect)
		}
	}
}
