#!/usr/bin/env python3
"""mkrepo.py DIR FILES: writes a source tree of FILES files into DIR, shaped like a real
project: a few top-level packages, directories nested two to five deep holding 5 to 40
files each, small files of varied sizes (log-normal, median about 2 KiB, from 60 bytes to
64 KiB) with source-like text, mixed extensions, a README and a build file at the top.
The same arguments give the same tree, byte for byte (fixed seed)."""
import os
import random
import sys

EXT = [".c", ".h", ".py", ".js", ".ts", ".go", ".rs", ".md", ".json", ".txt"]
WORDS = ("return value index count buffer result error node tree list map config path "
         "handle parse write read open close table entry state match token offset size "
         "const static int char struct if else for while break continue").split()


def text(rng, size):
    """size bytes of source-like lines."""
    out, n = [], 0
    while n < size:
        indent = "\t" * rng.randint(0, 3)
        line = indent + " ".join(rng.choice(WORDS) for _ in range(rng.randint(2, 10)))
        line += rng.choice([";", " {", "", "}", ")", ","]) + "\n"
        out.append(line)
        n += len(line)
    return "".join(out)


def body(rng, pool, size, n):
    """A file's content: a slice of the pool, with a line naming the file so that no two
    files are the same blob."""
    at = rng.randrange(0, len(pool) - size)
    return ("// file %d\n" % n + pool[at:at + size])[:size]


def main():
    root, total = sys.argv[1], int(sys.argv[2])
    rng = random.Random(total)
    os.makedirs(root, exist_ok=True)
    with open(os.path.join(root, "README.md"), "w") as f:
        f.write("# generated project\n\n%d files.\n" % total)
    with open(os.path.join(root, "Makefile"), "w") as f:
        f.write("all:\n\t@true\n")
    pool = text(rng, 4 << 20)
    made, d = 2, 0
    tops = ["src", "lib", "tests", "docs", "tools", "pkg", "web", "internal"]
    while made < total:
        depth = rng.randint(2, 5)
        parts = [rng.choice(tops)] + ["m%d" % rng.randint(0, 30) for _ in range(depth - 1)]
        parts[-1] = "d%d" % d
        d += 1
        path = os.path.join(root, *parts)
        os.makedirs(path, exist_ok=True)
        for _ in range(min(rng.randint(5, 40), total - made)):
            size = int(min(65536, max(60, rng.lognormvariate(7.6, 1.0))))
            name = "f%d%s" % (made, rng.choice(EXT))
            with open(os.path.join(path, name), "w") as f:
                f.write(body(rng, pool, size, made))
            made += 1


if __name__ == "__main__":
    main()
