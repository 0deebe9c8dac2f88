"""Hold a lock on a state database the way an orchestrator connection would.

usage: hold.py PATH MODE
  immediate      the orchestrator's write transaction: BEGIN IMMEDIATE and an UPDATE
  exclusive      BEGIN EXCLUSIVE (on a rollback-journal database: readers are locked out)
  wal-exclusive  PRAGMA locking_mode=EXCLUSIVE on a WAL database, then a write
  open           no lock: a connection that has read, so its -wal and -shm exist

Prints "locked" once it holds the lock, then waits for a line on stdin,
commits, prints "released" and exits.
"""
import sqlite3
import sys

path, mode = sys.argv[1], sys.argv[2]
conn = sqlite3.connect(path, timeout=10, isolation_level=None)
if mode == "immediate":
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("UPDATE agents SET last_update = last_update WHERE agent_id = 'builder-173224-364e3b'")
elif mode == "exclusive":
    conn.execute("BEGIN EXCLUSIVE")
elif mode == "wal-exclusive":
    conn.execute("PRAGMA locking_mode=EXCLUSIVE")
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("UPDATE agents SET last_update = last_update WHERE agent_id = 'builder-173224-364e3b'")
    conn.execute("COMMIT")
elif mode == "open":
    conn.execute("SELECT count(*) FROM agents").fetchall()
else:
    sys.exit("unknown mode " + mode)
print("locked", flush=True)
sys.stdin.readline()
if conn.in_transaction:
    conn.execute("COMMIT")
conn.close()
print("released", flush=True)
