#!/usr/bin/env python3
"""The call graph between a folder's files must have no cycle.

For each object file of the folder, `nm` gives the symbols it defines and the ones it
uses.  File A depends on file B when A uses a function B defines.  A cycle (A uses B and B
uses A, directly or around a loop) is printed and fails the check.

usage: callgraph.py OBJECT.o... (or folders of them)
"""
import os
import subprocess
import sys


def symbols(obj):
    out = subprocess.run(["nm", "--defined-only", "-g", obj], capture_output=True,
                         text=True, check=True).stdout
    defined = {l.split()[-1] for l in out.splitlines() if l.split()[1:2] == ["T"]}
    out = subprocess.run(["nm", "--undefined-only", obj], capture_output=True, text=True,
                         check=True).stdout
    used = {l.split()[-1] for l in out.splitlines() if l.strip()}
    return defined, used


def cycles(graph):
    """Strongly connected components of more than one file (Tarjan)."""
    index, low, stack, on, found = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def main(dirs):
    objs = [d for d in dirs if d.endswith(".o")]
    for d in dirs:
        if os.path.isdir(d):
            for root, _, files in os.walk(d):
                objs += [os.path.join(root, f) for f in files if f.endswith(".o")]
    if not objs:
        print("callgraph: no object files under " + " ".join(dirs), file=sys.stderr)
        return 1
    owner, uses = {}, {}
    for o in sorted(objs):
        defined, used = symbols(o)
        for s in defined:
            owner[s] = o
        uses[o] = used
    graph = {o: {owner[s] for s in uses[o] if s in owner and owner[s] != o} for o in uses}
    bad = cycles(graph)
    for comp in bad:
        names = [os.path.basename(c) for c in comp]
        print("callgraph: these files call into each other: " + ", ".join(names),
              file=sys.stderr)
        for a in comp:
            for s in sorted(uses[a]):
                if owner.get(s) in comp and owner[s] != a:
                    print("  %s uses %s (%s)" % (os.path.basename(a), s,
                                                 os.path.basename(owner[s])), file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
