"""Hold flock on a registry until told to let go.

usage: hold.py REGISTRY ex|sh
Prints "locked" once it holds the lock; releases it when a line (or EOF)
arrives on stdin, then prints "released" and exits.
"""
import fcntl
import sys


def main():
    path, mode = sys.argv[1], sys.argv[2]
    op = fcntl.LOCK_EX if mode == "ex" else fcntl.LOCK_SH
    with open(path, "r+" if mode == "ex" else "r") as f:
        fcntl.flock(f.fileno(), op)
        print("locked", flush=True)
        sys.stdin.readline()
        fcntl.flock(f.fileno(), fcntl.LOCK_UN)
    print("released", flush=True)


if __name__ == "__main__":
    main()
