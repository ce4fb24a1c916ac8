#!/usr/bin/env python3
"""Keeps docs/guide.md's code blocks equal to the snippets they quote.

A quoted block in the guide is a marker line followed by a ```c fence:

    <!-- snippet: docs/guide/select_loop.c loop -->
    ```c
    ...
    ```

and the region it quotes is the lines between `// [loop]` and `// [/loop]`
in that file (the marker lines themselves excluded, the common indentation
removed). The snippet files are whole programs that ctest builds and runs
(guide/<name>), so a block that matches its file is code that compiles and
works.

    scripts/guide-snippets.py --check   fails (exit 1) on any difference
    scripts/guide-snippets.py --write   rewrites the guide's blocks
"""
import os
import re
import sys
import textwrap

top = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
guide = os.path.join(top, "docs", "guide.md")
marker = re.compile(r"^<!-- snippet: (\S+) (\S+) -->$")


def region(path, tag):
    lines = open(os.path.join(top, path), encoding="utf-8").read().split("\n")
    begin, end = f"// [{tag}]", f"// [/{tag}]"
    try:
        i = next(k for k, l in enumerate(lines) if l.strip() == begin)
        j = next(k for k, l in enumerate(lines) if k > i and l.strip() == end)
    except StopIteration:
        sys.exit(f"guide-snippets: {path} has no region [{tag}]")
    return textwrap.dedent("\n".join(lines[i + 1:j])).rstrip("\n")


def main():
    write = "--write" in sys.argv[1:]
    lines = open(guide, encoding="utf-8").read().split("\n")
    out, bad, k = [], 0, 0
    while k < len(lines):
        m = marker.match(lines[k])
        out.append(lines[k])
        k += 1
        if not m:
            continue
        if k >= len(lines) or lines[k] != "```c":
            sys.exit(f"guide-snippets: line {k}: a snippet marker must be "
                     "followed by a ```c fence")
        j = k + 1
        while j < len(lines) and lines[j] != "```":
            j += 1
        have = "\n".join(lines[k + 1:j])
        want = region(m.group(1), m.group(2))
        if have != want:
            bad += 1
            print(f"guide-snippets: docs/guide.md line {k}: the block differs "
                  f"from {m.group(1)} [{m.group(2)}]")
        out.append("```c")
        out.extend(want.split("\n"))
        out.append("```")
        k = j + 1
    if write:
        open(guide, "w", encoding="utf-8").write("\n".join(out))
        return 0
    if bad:
        print("guide-snippets: run scripts/guide-snippets.py --write")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
