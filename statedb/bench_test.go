package statedb_test

import (
	"context"
	"syscall"
	"testing"
	"time"

	"agentwatch/statedb"
)

// benchRows adds 10,000 agents to the fixture's first task, as a fleet of
// the scale scene leaves them: each with its tracked_files and a prompt
// preview the size the orchestrator writes, one in fifty still working
// (with its agent_progress_latest row), the rest completed or terminated,
// started one second apart.
const benchRows = `PRAGMA journal_mode=WAL;
BEGIN IMMEDIATE;
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 9999)
INSERT INTO agents (agent_id, task_id, type, model, tmux_session, parent, depth, phase_index, tracked_files,
	started_at, completed_at, status, progress, last_update, prompt_preview)
SELECT printf('bench_agent-%06d-a%05x', i, i), '` + taskA + `', 'bench_agent', 'claude-opus-4-7',
	printf('agent_bench_agent-%06d-a%05x', i, i), 'orchestrator', 1, 0,
	printf('{"findings_file":"/srv/ws/.agent-workspace/` + taskA + `/findings/bench_agent-%06d_findings.jsonl",' ||
		'"log_file":"/srv/ws/.agent-workspace/` + taskA + `/logs/bench_agent-%06d_stream.jsonl",' ||
		'"progress_file":"/srv/ws/.agent-workspace/` + taskA + `/progress/bench_agent-%06d_progress.jsonl",' ||
		'"prompt_file":"/srv/ws/.agent-workspace/` + taskA + `/agent_prompt_bench_agent-%06d.txt"}', i, i, i, i),
	strftime('%Y-%m-%dT%H:%M:%f000', '2026-12-01', printf('+%d seconds', i)),
	CASE WHEN i % 50 = 0 THEN NULL ELSE strftime('%Y-%m-%dT%H:%M:%f000', '2026-12-01', printf('+%d seconds', i + 600)) END,
	CASE WHEN i % 50 = 0 THEN 'working' WHEN i % 10 = 0 THEN 'terminated' ELSE 'completed' END,
	CASE WHEN i % 50 = 0 THEN 40 ELSE 100 END,
	strftime('%Y-%m-%dT%H:%M:%f000', '2026-12-01', printf('+%d seconds', i + 600)),
	printf('You are bench_agent-%06d, a specialist agent of the orchestrator.', i) || char(10, 10) ||
		replace(hex(zeroblob(9)), '00', 'Read the files the task names and report. ')
FROM n;
INSERT INTO agent_progress_latest (task_id, agent_id, timestamp, status, progress, message)
SELECT task_id, agent_id, last_update, status, progress, 'Reading the registry writers; two race windows found so far'
FROM agents WHERE agent_id LIKE 'bench_agent-%' AND status = 'working';
COMMIT;`

// BenchmarkRead reads a state database of 10,010 agents, as every scan of
// a SQLite-era workspace does. Besides the wall time it reports the CPU
// time of the whole process (every thread, the collector's included) per
// read, which the other loads of a shared machine disturb less.
func BenchmarkRead(b *testing.B) {
	path := copyDB(b)
	runOrch(b, path, "script", benchRows)
	ctx := context.Background()
	start := cpuTime(b)
	for b.Loop() {
		st, err := statedb.Read(ctx, path, statedb.ReadOptions{})
		if err != nil {
			b.Fatal(err)
		}
		if len(st.Agents) != 10010 {
			b.Fatalf("got %d agents, want 10010", len(st.Agents))
		}
	}
	b.ReportMetric(float64(cpuTime(b)-start)/float64(b.N), "cpu-ns/op")
}

// cpuTime is the user and system time this process has used so far.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
