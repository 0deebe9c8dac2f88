package statedb_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"agentwatch/internal/pyscript"
	"agentwatch/statedb"
)

// The fixture's agents the repair tests use.
const (
	builder      = "builder-173224-364e3b"      // task A, working 40, has a progress row
	investigator = "investigator-173222-159664" // task A, running, no progress row
	codeAuditor  = "code_auditor-173229-323135" // task A, completed, completed_at set
)

// isoNow is a timestamp in the orchestrator's format.
func isoNow() string { return time.Now().Format("2006-01-02T15:04:05.000000") }

func TestApply(t *testing.T) {
	tests := []struct {
		name, agent, from, to string
		// prepare puts the copy in the state the case starts from.
		prepare         func(t *testing.T, path string)
		wantCompletedAt func(now string) any
		wantProgressRow bool
		wantBefore      statedb.Image
	}{
		{
			name: "working agent with a progress row, to failed", agent: builder, from: "working", to: "failed",
			wantCompletedAt: func(now string) any { return now },
			wantProgressRow: true,
			wantBefore: statedb.Image{AgentID: builder, TaskID: taskA, Status: "working",
				LastUpdate: "2026-12-05T17:32:27.155000", CompletedAtNull: true, Progress: 40,
				HasProgressRow: true, ProgressStatus: "working", ProgressTimestamp: "2026-12-05T17:32:27.155000",
				ProgressMessage: "Reading auth/refresh.py; two race windows found so far", ProgressValue: 40},
		},
		{
			name: "running agent without a progress row, to completed", agent: investigator, from: "running", to: "completed",
			wantCompletedAt: func(now string) any { return now },
			wantBefore: statedb.Image{AgentID: investigator, TaskID: taskA, Status: "running",
				LastUpdate: "2026-12-05T17:32:24.862866", CompletedAtNull: true},
		},
		{
			name: "active row that has a completed_at keeps it", agent: codeAuditor, from: "working", to: "completed",
			prepare: func(t *testing.T, path string) {
				orch(t, path, "write", "UPDATE agents SET status = 'working' WHERE agent_id = ?", codeAuditor)
			},
			wantCompletedAt: func(string) any { return "2026-12-05T17:32:35.277469" },
			wantProgressRow: true,
			wantBefore: statedb.Image{AgentID: codeAuditor, TaskID: taskA, Status: "working",
				LastUpdate: "2026-12-05T17:32:35.277469", CompletedAt: "2026-12-05T17:32:35.277469", Progress: 100,
				HasProgressRow: true, ProgressStatus: "completed", ProgressTimestamp: "2026-12-05T17:32:35.277469",
				ProgressMessage: "Status changed from running to completed", ProgressValue: 100},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := copyDB(t)
			if tc.prepare != nil {
				tc.prepare(t, path)
			}
			orig := dump(t, path)
			rowBefore, progBefore := orig.agent(t, tc.agent), orig.progress(tc.agent)

			now := isoNow()
			r := statedb.Repair{AgentID: tc.agent, TaskID: taskA, From: tc.from, To: tc.to, Now: now, Message: "agentwatch: session not found"}
			before, after, err := statedb.Apply(context.Background(), path, r, 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			if before != tc.wantBefore {
				t.Errorf("got before-image %+v, want %+v", before, tc.wantBefore)
			}

			got := dump(t, path)
			got.checkIntegrity(t)
			row := got.agent(t, tc.agent)
			want := maps.Clone(rowBefore)
			want["status"], want["last_update"], want["completed_at"] = tc.to, now, tc.wantCompletedAt(now)
			if !reflect.DeepEqual(row, want) {
				t.Errorf("got agents row %v, want %v", row, want)
			}

			prog := got.progress(tc.agent)
			switch {
			case !tc.wantProgressRow && len(prog) != 0:
				t.Errorf("got progress rows %v, want none inserted", prog)
			case tc.wantProgressRow:
				wantProg := maps.Clone(progBefore[0])
				wantProg["status"], wantProg["timestamp"], wantProg["message"] = tc.to, now, r.Message
				if len(prog) != 1 || !reflect.DeepEqual(prog[0], wantProg) {
					t.Errorf("got progress rows %v, want [%v]", prog, wantProg)
				}
			}

			wantAfter := before
			wantAfter.Status, wantAfter.LastUpdate = tc.to, now
			wantAfter.CompletedAt, wantAfter.CompletedAtNull = tc.wantCompletedAt(now).(string), false
			if tc.wantProgressRow {
				wantAfter.ProgressStatus, wantAfter.ProgressTimestamp, wantAfter.ProgressMessage = tc.to, now, r.Message
			}
			if after != wantAfter {
				t.Errorf("got after-image %+v, want %+v", after, wantAfter)
			}

			if o, w := got.others(tc.agent), orig.others(tc.agent); !reflect.DeepEqual(o, w) {
				t.Errorf("a row of another agent or table changed:\ngot  %v\nwant %v", o, w)
			}
		})
	}
}

// TestApplyWritesNothing checks every repair that must not write: the file's
// bytes stay as they were.
func TestApplyWritesNothing(t *testing.T) {
	tests := []struct {
		name string
		r    statedb.Repair
		want error // nil: any error but a sentinel
		msg  string
	}{
		{"status no longer the one seen", statedb.Repair{AgentID: builder, TaskID: taskA, From: "running", To: "failed"},
			statedb.ErrChanged, `status is now "working", not "running"`},
		{"agent not in the database", statedb.Repair{AgentID: "ghost-000000-000000", TaskID: taskA, From: "running", To: "failed"},
			statedb.ErrChanged, "is not in the database"},
		{"agent of another task", statedb.Repair{AgentID: builder, TaskID: taskB, From: "working", To: "failed"},
			statedb.ErrChanged, "is not in the database"},
		{"a status a ghost repair does not write", statedb.Repair{AgentID: builder, TaskID: taskA, From: "working", To: "terminated"},
			nil, "failed or completed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := copyDB(t)
			orig := readBytes(t, path)
			tc.r.Now = isoNow()
			_, _, err := statedb.Apply(context.Background(), path, tc.r, time.Second)
			switch {
			case err == nil:
				t.Fatal("got no error, want one")
			case tc.want != nil && !errors.Is(err, tc.want):
				t.Errorf("got %v, want %v", err, tc.want)
			case tc.want == nil && (errors.Is(err, statedb.ErrChanged) || errors.Is(err, statedb.ErrBusy)):
				t.Errorf("got %v, want a validation error", err)
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("got message %q, want it to say %q", err, tc.msg)
			}
			if got := readBytes(t, path); string(got) != string(orig) {
				t.Error("the database's bytes changed")
			}
			if exists(path + "-wal") {
				if b := readBytes(t, path+"-wal"); len(b) != 0 {
					t.Errorf("got a -wal of %d bytes, want nothing written", len(b))
				}
			}
			if got := dump(t, path).agent(t, builder)["status"]; got != "working" {
				t.Errorf("got builder status %v, want working", got)
			}
		})
	}
}

func TestUndo(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name  string
		agent string
		from  string
		// since is what the orchestrator writes between the repair and the
		// undo ("" for nothing).
		since        string
		wantRestored bool
		// wantAgent and wantProgress: whether each row is back as it was.
		wantAgent, wantProgress bool
		wantWhy                 []string
	}{
		{name: "nothing written since", agent: builder, from: "working",
			wantRestored: true, wantAgent: true, wantProgress: true},
		{name: "no progress row", agent: investigator, from: "running",
			wantRestored: true, wantAgent: true, wantProgress: true},
		{name: "the orchestrator changed the agents row since", agent: builder, from: "working",
			since:        "UPDATE agents SET status = 'completed', last_update = '2026-12-05T18:30:00.123456' WHERE agent_id = ?",
			wantRestored: false, wantAgent: false, wantProgress: true,
			wantWhy: []string{`status is now "completed"`, `last_update "2026-12-05T18:30:00.123456"`, "the orchestrator changed it since"}},
		{name: "the orchestrator wrote the same status since", agent: builder, from: "working",
			since:        "UPDATE agents SET status = 'failed', last_update = '2026-12-05T18:30:00.654321' WHERE agent_id = ?",
			wantRestored: false, wantAgent: false, wantProgress: true,
			wantWhy: []string{`status is now "failed"`, `last_update "2026-12-05T18:30:00.654321"`}},
		{name: "the orchestrator reported progress since", agent: builder, from: "working",
			since: "UPDATE agent_progress_latest SET status = 'working', timestamp = '2026-12-05T18:31:00.000001', " +
				"message = 'still here' WHERE agent_id = ?",
			wantRestored: true, wantAgent: true, wantProgress: false,
			wantWhy: []string{"agent_progress_latest row not restored", `status is now "working"`, `"2026-12-05T18:31:00.000001"`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := copyDB(t)
			orig := dump(t, path)
			origRow, origProg := orig.agent(t, tc.agent), orig.progress(tc.agent)
			before, after, err := statedb.Apply(ctx, path, statedb.Repair{AgentID: tc.agent, TaskID: taskA, From: tc.from,
				To: "failed", Now: isoNow(), Message: "agentwatch: session not found"}, 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			if tc.since != "" {
				orch(t, path, "write", tc.since, tc.agent)
			}
			repaired := dump(t, path)
			wantRow, wantProg := repaired.agent(t, tc.agent), repaired.progress(tc.agent)
			if tc.wantAgent {
				wantRow = origRow
			}
			if tc.wantProgress {
				wantProg = origProg
			}

			restored, why, err := statedb.Undo(ctx, path, before, after, 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			if restored != tc.wantRestored {
				t.Errorf("got restored %v, want %v (why %q)", restored, tc.wantRestored, why)
			}
			for _, part := range tc.wantWhy {
				if !strings.Contains(why, part) {
					t.Errorf("got why %q, want it to say %q", why, part)
				}
			}
			if tc.wantWhy == nil && why != "" {
				t.Errorf("got why %q, want none", why)
			}
			got := dump(t, path)
			got.checkIntegrity(t)
			if row := got.agent(t, tc.agent); !reflect.DeepEqual(row, wantRow) {
				t.Errorf("got agents row %v, want %v", row, wantRow)
			}
			if prog := got.progress(tc.agent); !reflect.DeepEqual(prog, wantProg) {
				t.Errorf("got progress rows %v, want %v", prog, wantProg)
			}
			if o, w := got.others(tc.agent), orig.others(tc.agent); !reflect.DeepEqual(o, w) {
				t.Errorf("a row of another agent or table changed:\ngot  %v\nwant %v", o, w)
			}

			if tc.wantRestored {
				// The row now holds the before-image, not what the repair
				// wrote: a second undo changes nothing and says so.
				again, why, err := statedb.Undo(ctx, path, before, after, 5*time.Second)
				if err != nil || again || !strings.Contains(why, fmt.Sprintf("status is now %q", tc.from)) {
					t.Errorf("second undo: got %v, %q, %v; want false and a why naming status %q", again, why, err, tc.from)
				}
				if row := dump(t, path).agent(t, tc.agent); !reflect.DeepEqual(row, origRow) {
					t.Errorf("second undo: got agents row %v, want %v", row, origRow)
				}
			}
		})
	}
}

// TestWriteBusy holds the orchestrator's write transaction in a python3
// process and checks that Apply and Undo give up after their lock timeout
// with ErrBusy, write nothing, and succeed once it commits.
func TestWriteBusy(t *testing.T) {
	ctx := context.Background()
	const timeout = 300 * time.Millisecond
	path := copyDB(t)
	r := statedb.Repair{AgentID: builder, TaskID: taskA, From: "working", To: "failed", Now: isoNow(), Message: "m"}
	// An image pair for the undo case: Apply on a second copy.
	other := copyDB(t)
	before, after, err := statedb.Apply(ctx, other, r, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}

	holder := pyscript.Start(t, "hold.py", path, "immediate")
	holder.Expect(t, "locked")

	calls := []struct {
		name string
		call func() error
	}{
		{"Apply", func() error { _, _, err := statedb.Apply(ctx, path, r, timeout); return err }},
		{"Undo", func() error { _, _, err := statedb.Undo(ctx, path, before, after, timeout); return err }},
	}
	for _, c := range calls {
		t.Run(c.name+" while locked", func(t *testing.T) {
			start := time.Now()
			err := c.call()
			waited := time.Since(start)
			if !errors.Is(err, statedb.ErrBusy) {
				t.Fatalf("got %v, want ErrBusy", err)
			}
			if waited < timeout {
				t.Errorf("got a wait of %v, want at least %v", waited, timeout)
			}
			if !strings.Contains(err.Error(), "stayed locked") {
				t.Errorf("got message %q, want it to say the database stayed locked", err)
			}
		})
	}
	if got := dump(t, path).agent(t, builder)["status"]; got != "working" {
		t.Errorf("got status %v while locked, want working (nothing written)", got)
	}

	holder.Send(t)
	holder.Expect(t, "released")
	holder.WaitClean(t)
	if _, _, err := statedb.Apply(ctx, path, r, timeout); err != nil {
		t.Fatalf("after the holder committed: got %v, want the repair made", err)
	}
	got := dump(t, path)
	got.checkIntegrity(t)
	if status := got.agent(t, builder)["status"]; status != "failed" {
		t.Errorf("got status %v, want failed", status)
	}
}

// TestNothingStaysOpen checks that no call leaves a descriptor of the
// database or its sidecars open in this process: nothing pins the WAL
// between scans.
func TestNothingStaysOpen(t *testing.T) {
	if _, err := os.ReadDir("/proc/self/fd"); err != nil {
		t.Skip("needs /proc/self/fd")
	}
	ctx := context.Background()
	path := copyDB(t)
	index := filepath.Join(filepath.Dir(path), "global_registry.sqlite3")
	copyFile(t, fixtureIndex, index)
	r := statedb.Repair{AgentID: builder, TaskID: taskA, From: "working", To: "failed", Now: isoNow()}
	calls := []struct {
		name string
		call func() error
	}{
		{"Read", func() error { _, err := statedb.Read(ctx, path, statedb.ReadOptions{}); return err }},
		{"KnownWorkspaces", func() error { _, err := statedb.KnownWorkspaces(ctx, index, statedb.ReadOptions{}); return err }},
		{"Apply and Undo", func() error {
			before, after, err := statedb.Apply(ctx, path, r, time.Second)
			if err != nil {
				return err
			}
			_, _, err = statedb.Undo(ctx, path, before, after, time.Second)
			return err
		}},
		{"a failed Apply", func() error {
			bad := r
			bad.From = "running"
			if _, _, err := statedb.Apply(ctx, path, bad, time.Second); !errors.Is(err, statedb.ErrChanged) {
				return fmt.Errorf("got %v, want ErrChanged", err)
			}
			return nil
		}},
	}
	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) {
			if err := c.call(); err != nil {
				t.Fatal(err)
			}
			fds, err := os.ReadDir("/proc/self/fd")
			if err != nil {
				t.Fatal(err)
			}
			dir := filepath.Dir(path)
			for _, fd := range fds {
				target, err := os.Readlink(filepath.Join("/proc/self/fd", fd.Name()))
				if err == nil && strings.HasPrefix(target, dir+string(filepath.Separator)) {
					t.Errorf("got descriptor %s open on %s, want none", fd.Name(), target)
				}
			}
		})
	}
}
