"""Add 1 to some fields of a registry, N times, as a careful orchestrator
writer does: flock(LOCK_EX) on the registry file itself, read, modify,
rewrite in place (seek, write, truncate, fsync), unlock.

usage: bump.py REGISTRY N PAUSE FIELD...
PAUSE, in seconds, is slept before each increment. Prints "done" at the end.
"""
import fcntl
import json
import os
import sys
import time


def main():
    path, n, pause, fields = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4:]
    for _ in range(n):
        time.sleep(pause)
        with open(path, "r+") as f:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX)
            try:
                obj = json.load(f)
                for field in fields:
                    obj[field] = obj.get(field, 0) + 1
                f.seek(0)
                f.write(json.dumps(obj, indent=2))
                f.truncate()
                f.flush()
                os.fsync(f.fileno())
            finally:
                fcntl.flock(f.fileno(), fcntl.LOCK_UN)
    print("done", flush=True)


if __name__ == "__main__":
    main()
