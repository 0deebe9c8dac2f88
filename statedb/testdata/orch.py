"""Run one statement on a database the way the orchestrator does, and print
the rows it returns as one JSON array.

usage: orch.py PATH write|query SQL [PARAMS_JSON]
  write  in a BEGIN IMMEDIATE ... COMMIT transaction, on a WAL connection
  query  on a plain connection, no transaction
  script SQL is a script of several statements (executescript), no PARAMS
  dump   SQL is ignored; prints {"integrity": PRAGMA integrity_check's rows,
         "tables": {name: {"columns": [...], "rows": [...]}}} for every table
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
elif kind == "dump":
    out = {"integrity": conn.execute("PRAGMA integrity_check").fetchall(), "tables": {}}
    names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
    for name in names:
        cur = conn.execute('SELECT * FROM "%s" ORDER BY rowid' % name.replace('"', '""'))
        out["tables"][name] = {"columns": [d[0] for d in cur.description], "rows": cur.fetchall()}
    conn.close()
    print(json.dumps(out))
    sys.exit(0)
elif kind == "query":
    rows = conn.execute(sql, params).fetchall()
else:
    sys.exit("unknown kind " + kind)
conn.close()
print(json.dumps(rows))
