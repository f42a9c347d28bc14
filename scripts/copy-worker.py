#!/usr/bin/env python3
"""A trivial `smartcache dataset build --worker` transform: copies each input to its
output. Reads `in<TAB>out[<TAB>sidecar...]` lines on stdin, answers `ok` or
`error <message>` per line on stdout (see docs/dataset.md, "Workers")."""
import shutil
import sys

for line in sys.stdin:
    fields = line.rstrip("\n").split("\t")
    try:
        shutil.copyfile(fields[0], fields[1])
        sys.stdout.write("ok\n")
    except OSError as e:
        sys.stdout.write(f"error {e}\n")
    sys.stdout.flush()
