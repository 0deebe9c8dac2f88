"""Add 1 to a counter field of a registry, N times, the way a careful
orchestrator writer does: flock(LOCK_EX) on the registry file itself, read,
modify, rewrite in place (seek, write, truncate, fsync), unlock.

usage: increment.py REGISTRY N FIELD [PAUSE]
PAUSE, in seconds, is slept between increments (default none).
"""
import fcntl
import json
import os
import sys
import time


def main():
    path, n, field = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    pause = float(sys.argv[4]) if len(sys.argv) > 4 else 0
    for _ in range(n):
        if pause:
            time.sleep(pause)
        with open(path, "r+") as f:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX)
            try:
                obj = json.load(f)
                obj[field] = obj.get(field, 0) + 1
                f.seek(0)
                f.write(json.dumps(obj, indent=2))
                f.truncate()
                f.flush()
                os.fsync(f.fileno())
            finally:
                fcntl.flock(f.fileno(), fcntl.LOCK_UN)


if __name__ == "__main__":
    main()
