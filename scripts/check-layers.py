#!/usr/bin/env python3
"""The layer check: every #include "..." under src/ against the layer table.

The table is the block in docs/design.md that opens with the line
`layer     may include` (inside a ``` fence): one line per folder of src/,
naming the folders its files may include. A folder may always include
itself and the public headers (include/: "kairo.h", "kairo/...").

Fails (exit 1) on:
  - an include of another src/ folder the table does not allow;
  - an include that names no folder and is not a public header;
  - a folder of src/ missing from the table, or a table entry naming none;
  - a table that is not acyclic (it is the architecture: a cycle there
    would make the check meaningless).
Run from anywhere: `python3 scripts/check-layers.py`.
"""
import os
import re
import sys

top = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
src = os.path.join(top, "src")
doc = os.path.join(top, "docs", "design.md")


def read_table():
    table, inside = {}, False
    for line in open(doc, encoding="utf-8"):
        words = line.split()
        if not inside:
            inside = words[:3] == ["layer", "may", "include"]
            continue
        if not words or words[0].startswith("```"):
            break
        table[words[0]] = set(w for w in words[1:] if w != "-")
    if not table:
        sys.exit(f"check-layers: no table ('layer may include') in {doc}")
    return table


def cycle(table):
    """Returns one cycle of the table as a list, or None."""
    state, path = {}, []

    def visit(a):
        state[a] = 1
        path.append(a)
        for b in sorted(table.get(a, ())):
            if state.get(b) == 1:
                return path[path.index(b):] + [b]
            if b not in state:
                c = visit(b)
                if c:
                    return c
        path.pop()
        state[a] = 2
        return None

    for a in sorted(table):
        if a not in state:
            c = visit(a)
            if c:
                return c
    return None


def main():
    table = read_table()
    folders = sorted(d for d in os.listdir(src)
                     if os.path.isdir(os.path.join(src, d)))
    bad = []
    for f in folders:
        if f not in table:
            bad.append(f"src/{f}/ is not in the layer table")
    for f in sorted(table):
        if f not in folders:
            bad.append(f"the layer table names {f}/, which src/ lacks")
        for g in sorted(table[f] - set(folders)):
            bad.append(f"the layer table lets {f}/ include {g}/, which src/ lacks")
    c = cycle(table)
    if c:
        bad.append("the layer table has a cycle: " + " -> ".join(c))
    inc = re.compile(r'\s*#\s*include\s+"([^"]+)"')
    for d, _, files in sorted(os.walk(src)):
        for name in sorted(files):
            if not name.endswith((".c", ".h", ".inc")):
                continue
            path = os.path.join(d, name)
            rel = os.path.relpath(path, top)
            here = os.path.relpath(d, src).split(os.sep)[0]
            for n, line in enumerate(open(path, encoding="utf-8",
                                          errors="replace"), 1):
                m = inc.match(line)
                if not m:
                    continue
                target = m.group(1)
                if target == "kairo.h" or target.startswith("kairo/"):
                    continue
                there = target.split("/")[0] if "/" in target else None
                if there is None or there not in folders:
                    bad.append(f"{rel}:{n}: \"{target}\" names no folder of "
                               "src/ (write folder/file.h)")
                elif there != here and there not in table.get(here, ()):
                    bad.append(f"{rel}:{n}: {here}/ may not include "
                               f"\"{target}\" (docs/design.md, layer table)")
    for b in bad:
        print("check-layers: " + b)
    if bad:
        return 1
    print(f"check-layers: {len(folders)} folders, every include follows the "
          "layer table")
    return 0


if __name__ == "__main__":
    sys.exit(main())
