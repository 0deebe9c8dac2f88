"""One orchestrator writer: N progress updates of one agent, each in its own
connection and BEGIN IMMEDIATE transaction, as the orchestrator's state_db
functions make them.

usage: writer.py PATH AGENT_ID N

Prints "ready", waits for a line on stdin, makes its N updates, prints "done".
Any error ends it with a traceback on stderr and a non-zero exit code.
"""
import datetime
import sqlite3
import sys

path, agent, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
print("ready", flush=True)
sys.stdin.readline()
for i in range(n):
    conn = sqlite3.connect(path, timeout=10, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA busy_timeout=10000")
    conn.execute("BEGIN IMMEDIATE")
    cur = conn.execute(
        "UPDATE agents SET progress = progress + 1, last_update = ? WHERE agent_id = ?",
        (datetime.datetime.now().isoformat(), agent),
    )
    if cur.rowcount != 1:
        raise SystemExit("update %d of %s changed %d rows" % (i, agent, cur.rowcount))
    conn.execute("COMMIT")
    conn.close()
print("done", flush=True)
