"""Rewrite a registry the careless way, and stop half way: no lock, open for
writing (which truncates the file), write the first half of the new
document, and exit as if killed there. What is left does not parse.

usage: tear.py REGISTRY FIELD
Adds 1 to FIELD in the document it starts to write.
"""
import json
import os
import sys


def main():
    path, field = sys.argv[1], sys.argv[2]
    with open(path) as f:
        obj = json.load(f)
    obj[field] = obj.get(field, 0) + 1
    text = json.dumps(obj, indent=2)
    with open(path, "w") as f:
        f.write(text[: len(text) // 2])
        f.flush()
        os.fsync(f.fileno())
        os._exit(0)


if __name__ == "__main__":
    main()
