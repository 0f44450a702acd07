#!/usr/bin/env python3
"""scripts/guide_snippets.py - build every C snippet of a Markdown guide, so that the guide cannot rot.

    guide_snippets.py --cc CC --include DIR --lib LIBCIO [--out DIR] [--flag F]... GUIDE.md

Each ```c block of GUIDE.md is one translation unit. A block with a main() is compiled and linked
against LIBCIO (the shared library; its directory goes into the rpath), so that a function the
guide names but cio lacks fails the build; a block without one is compiled only. Every block is
built with -std=c11 -Wall -Wextra -Werror, plus each --flag (a sanitizer build passes its
-fsanitize options, which a program linked with such a libcio needs too). Prints one line per block; exit status 1 if any failed,
with the compiler's output and the block's first line in the guide.
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile


def blocks(text):
    """(line number, source) of every ```c block."""
    out, cur, start = [], None, 0
    for no, line in enumerate(text.splitlines(), 1):
        if cur is None:
            if re.match(r"^```c\s*$", line):
                cur, start = [], no + 1
        elif line.startswith("```"):
            out.append((start, "\n".join(cur) + "\n"))
            cur = None
        else:
            cur.append(line)
    if cur is not None:
        sys.exit(f"guide_snippets: the block at line {start} is never closed")
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cc", required=True)
    ap.add_argument("--include", required=True)
    ap.add_argument("--lib", required=True)
    ap.add_argument("--out")
    ap.add_argument("--flag", action="append", default=[])
    ap.add_argument("guide")
    args = ap.parse_args()
    found = blocks(open(args.guide, encoding="utf-8").read())
    if not found:
        sys.exit(f"guide_snippets: no ```c block in {args.guide}")
    out = args.out or tempfile.mkdtemp(prefix="cio-guide-")
    os.makedirs(out, exist_ok=True)
    libdir = os.path.dirname(os.path.abspath(args.lib))
    failed = 0
    for i, (line, src) in enumerate(found, 1):
        path = os.path.join(out, f"snippet_{i}.c")
        with open(path, "w", encoding="utf-8") as f:
            f.write(src)
        cmd = [args.cc, "-std=c11", "-Wall", "-Wextra", "-Werror", *args.flag, "-I", args.include, path]
        if re.search(r"\bint\s+main\s*\(", src):
            cmd += ["-o", path[:-2], os.path.abspath(args.lib), f"-Wl,-rpath,{libdir}", "-pthread"]
            what = "linked"
        else:
            cmd += ["-c", "-o", path[:-2] + ".o"]
            what = "compiled"
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode:
            failed += 1
            print(f"FAIL snippet {i} (guide line {line}):\n{r.stdout}{r.stderr}")
        else:
            print(f"ok   snippet {i} (guide line {line}): {what}")
    print(f"{len(found) - failed} of {len(found)} snippets built")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
