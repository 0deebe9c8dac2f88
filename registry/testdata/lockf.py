"""Hold a POSIX record lock (fcntl.lockf) on a registry until told to let go.

usage: lockf.py REGISTRY hold|try
  hold  take LOCK_EX, print "locked", wait for a line on stdin, let go,
        print "released"
  try   try LOCK_EX | LOCK_NB once: print "locked" or "busy"
"""
import fcntl
import sys

path, mode = sys.argv[1], sys.argv[2]
with open(path, "r+") as f:
    if mode == "try":
        try:
            fcntl.lockf(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            print("locked", flush=True)
        except OSError:
            print("busy", flush=True)
        sys.exit(0)
    fcntl.lockf(f, fcntl.LOCK_EX)
    print("locked", flush=True)
    sys.stdin.readline()
    fcntl.lockf(f, fcntl.LOCK_UN)
print("released", flush=True)
