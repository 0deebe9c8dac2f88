"""Run one statement on a database the way the orchestrator does, and print
the rows it returns as one JSON array.

usage: orch.py PATH write|query SQL [PARAMS_JSON]
  write  in a BEGIN IMMEDIATE ... COMMIT transaction, on a WAL connection
  query  on a plain connection, no transaction
  script SQL is a script of several statements (executescript), no PARAMS
"""
import json
import sqlite3
import sys

path, kind, sql = sys.argv[1], sys.argv[2], sys.argv[3]
params = json.loads(sys.argv[4]) if len(sys.argv) > 4 else []
conn = sqlite3.connect(path, timeout=10, isolation_level=None)
if kind == "write":
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("BEGIN IMMEDIATE")
    rows = conn.execute(sql, params).fetchall()
    conn.execute("COMMIT")
elif kind == "script":
    conn.executescript(sql)
    rows = []
elif kind == "query":
    rows = conn.execute(sql, params).fetchall()
else:
    sys.exit("unknown kind " + kind)
conn.close()
print(json.dumps(rows))
