#!/usr/bin/env python3
"""Import cycles among the library's files: every `crate::a::b...` path in a file of src/
(the command line, src/main.rs and src/cli/, left out: nothing imports it) is resolved to the
file of the longest module prefix that exists, and the graph's strongly connected components
of more than one file are printed. Exits 1 when there is one. A file's own submodules
(`mod.rs` -> its children) and items re-exported from a parent count as the file they name.

    tools/import-cycles.py [SRC]      # the cycles, or "no import cycles among N files"
"""
import os
import re
import sys

ROOT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "src")


def module_of(path):
    rel = os.path.relpath(path, ROOT)[:-3].split(os.sep)
    if rel[-1] == "mod":
        rel = rel[:-1]
    return tuple(rel) if rel != ["lib"] else ()


def files():
    out = {}
    for d, _, names in os.walk(ROOT):
        for n in names:
            p = os.path.join(d, n)
            rel = os.path.relpath(p, ROOT)
            if not n.endswith(".rs") or rel == "main.rs" or rel.startswith("cli" + os.sep):
                continue
            out[module_of(p)] = rel
    return out


def strip_tests(text):
    # the unit tests of a file import what they test, and comments name modules without
    # importing them: neither is the library's graph
    i = text.find("#[cfg(test)]")
    text = text if i < 0 else text[:i]
    return re.sub(r"//[^\n]*", "", text)


def uses(text):
    """Every crate path: `crate::a::b` and the items of `use crate::{a::b, c}` groups."""
    paths = []
    for m in re.finditer(r"crate::((?:\w+::)*)\{([^;]*?)\}", text, re.S):
        base = [p for p in m.group(1).split("::") if p]
        for item in re.split(r",", m.group(2)):
            item = item.strip().split(" as ")[0].strip()
            if item:
                paths.append(base + [p for p in re.split(r"::", item.split("{")[0]) if p])
    for m in re.finditer(r"crate::((?:\w+)(?:::\w+)*)", text):
        paths.append(m.group(1).split("::"))
    return paths


def main():
    mods = files()
    graph = {f: set() for f in mods.values()}
    for mod, rel in mods.items():
        text = strip_tests(open(os.path.join(ROOT, rel)).read())
        for path in uses(text):
            for k in range(len(path), 0, -1):
                target = mods.get(tuple(path[:k]))
                if target:
                    if target != rel and tuple(path[:k]) != mod[:k]:
                        graph[rel].add(target)
                    break
    # Tarjan's strongly connected components
    index, low, stack, on, sccs, counter = {}, {}, [], set(), [], [0]
    sys.setrecursionlimit(10000)

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph[v]:
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
                sccs.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    if "-v" in sys.argv:
        for v in sorted(graph):
            print(v, "->", " ".join(sorted(graph[v])))
    if sccs:
        for comp in sccs:
            print("cycle:", " <-> ".join(comp))
        sys.exit(1)
    print(f"no import cycles among {len(graph)} files")


main()
