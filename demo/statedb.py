# Writes the demo's state database the way the 2026 orchestrator writes its
# own: Python's sqlite3 in autocommit, WAL, foreign keys on, a 10 s busy
# timeout, one BEGIN IMMEDIATE transaction. The rows come as JSON on stdin:
# {"db": PATH, "schema": SQL, "tasks": [...], "agents": [...], "progress": [...]}.
import json
import sqlite3
import sys

spec = json.load(sys.stdin)
conn = sqlite3.connect(spec["db"], timeout=10, isolation_level=None)
conn.execute("PRAGMA journal_mode=WAL")
conn.execute("PRAGMA synchronous=NORMAL")
conn.execute("PRAGMA foreign_keys=ON")
conn.execute("PRAGMA busy_timeout=10000")
conn.executescript(spec["schema"])
conn.execute("BEGIN IMMEDIATE")
for t in spec["tasks"]:
    conn.execute(
        "INSERT INTO tasks (task_id, workspace, workspace_base, description, status, priority, client_cwd, created_at, updated_at, current_phase_index)"
        " VALUES (?, ?, ?, ?, ?, 'P1', NULL, ?, ?, 0)",
        (t["task_id"], t["workspace"], t["base"], t["description"], t["status"], t["created_at"], t["created_at"]))
    conn.execute("INSERT INTO task_config (task_id, max_agents, max_concurrent, max_depth) VALUES (?, 45, 20, 5)", (t["task_id"],))
for a in spec["agents"]:
    conn.execute(
        "INSERT INTO agents (agent_id, task_id, type, model, tmux_session, parent, depth, phase_index, started_at, completed_at, status, progress, last_update, prompt_preview)"
        " VALUES (?, ?, ?, ?, ?, 'orchestrator', 1, 0, ?, ?, ?, ?, ?, ?)",
        (a["agent_id"], a["task_id"], a["type"], a["model"], "agent_" + a["agent_id"], a["started_at"], a.get("completed_at"),
         a["status"], a["progress"], a["last_update"], "You are a " + a["type"] + " agent."))
for p in spec["progress"]:
    conn.execute(
        "INSERT INTO agent_progress_latest (task_id, agent_id, timestamp, status, progress, message) VALUES (?, ?, ?, ?, ?, ?)",
        (p["task_id"], p["agent_id"], p["timestamp"], p["status"], p["progress"], p["message"]))
conn.execute("COMMIT")
conn.close()
