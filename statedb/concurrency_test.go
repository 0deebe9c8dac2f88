package statedb_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"agentwatch/internal/pyscript"
	"agentwatch/statedb"
)

// TestConcurrentWriters runs three python3 writers making the orchestrator's
// BEGIN IMMEDIATE updates, each on its own agent, while agentwatch repairs
// and undoes a fourth agent over and over. Afterwards every writer's update
// is there, no writer saw an error, no repair or undo failed, the fourth
// agent is back as it was, and the database is sound.
func TestConcurrentWriters(t *testing.T) {
	const (
		updates = 200 // per writer
		minTx   = 20  // agentwatch transactions while the writers run
	)
	ctx := context.Background()
	path := copyDB(t)
	orig := dump(t, path)
	agents := []string{investigator, "test_writer-173227-69f755", "anchor_checker-173242-f0354f"}

	writers := make([]*pyscript.Proc, len(agents))
	for i, id := range agents {
		writers[i] = pyscript.Start(t, "writer.py", path, id, "200")
	}
	for _, w := range writers {
		w.Expect(t, "ready")
	}
	finished := make(chan struct{})
	go func() {
		for _, w := range writers {
			<-w.Done
		}
		close(finished)
	}()
	for _, w := range writers {
		w.Send(t)
	}

	// Repair and undo the builder until the writers are done, and at least
	// minTx times while they run.
	var during, total int
	for running := true; running || total < minTx; {
		select {
		case <-finished:
			running = false
		default:
		}
		r := statedb.Repair{AgentID: builder, TaskID: taskA, From: "working", To: "failed", Now: isoNow(), Message: "agentwatch: ghost"}
		before, after, err := statedb.Apply(ctx, path, r, 10*time.Second)
		if err != nil {
			t.Fatalf("transaction %d: Apply: %v", total, err)
		}
		restored, why, err := statedb.Undo(ctx, path, before, after, 10*time.Second)
		if err != nil || !restored || why != "" {
			t.Fatalf("transaction %d: Undo: got %v, %q, %v; want restored", total+1, restored, why, err)
		}
		total += 2
		if running {
			during += 2
		}
	}
	for _, w := range writers {
		w.Expect(t, "done")
		w.WaitClean(t)
	}
	t.Logf("%d agentwatch transactions, %d of them while the writers ran", total, during)
	if during < minTx {
		t.Errorf("got %d agentwatch transactions while the writers ran, want at least %d", during, minTx)
	}

	got := dump(t, path)
	got.checkIntegrity(t)
	for _, id := range agents {
		was, is := orig.agent(t, id)["progress"].(float64), got.agent(t, id)["progress"].(float64)
		if is != was+updates {
			t.Errorf("%s: got progress %v, want %v (%d updates on %v): an update was lost", id, is, was+updates, updates, was)
		}
	}
	if row, want := got.agent(t, builder), orig.agent(t, builder); !reflect.DeepEqual(row, want) {
		t.Errorf("builder: got %v after the last undo, want %v", row, want)
	}
	if prog, want := got.progress(builder), orig.progress(builder); !reflect.DeepEqual(prog, want) {
		t.Errorf("builder's progress row: got %v after the last undo, want %v", prog, want)
	}
}
