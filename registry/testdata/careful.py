"""Add 1 to a counter field of a registry once, as the orchestrator's
careful writers do (flock(LOCK_EX) on the registry itself, read, modify,
rewrite in place, fsync, unlock), and as its readers do, leave alone a file
that does not parse: print "corrupt" and write nothing. Prints "wrote"
after a write.

usage: careful.py REGISTRY FIELD
"""
import fcntl
import json
import os
import sys


def main():
    path, field = sys.argv[1], sys.argv[2]
    with open(path, "r+") as f:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX)
        try:
            try:
                obj = json.loads(f.read())
            except ValueError:
                print("corrupt", flush=True)
                return
            obj[field] = obj.get(field, 0) + 1
            f.seek(0)
            f.write(json.dumps(obj, indent=2))
            f.truncate()
            f.flush()
            os.fsync(f.fileno())
            print("wrote", flush=True)
        finally:
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)


if __name__ == "__main__":
    main()
