#!/usr/bin/python3
"""Fails when a document names a file or folder of this repository that does not exist.

    check_doc_paths.py [--root DIR]

Reads docs/*.md and every README.md of the tree at DIR (default: this repository) and checks
each `backticked` path whose first component is a top-level folder of the repository
(protocol/, server/, tests/, ...): it must exist as a file or folder. A trailing `::name`
(pytest) or `:LINE` is ignored; a path without its extension names a unit
(`config/redis_url` for its .hpp and .cpp) and passes when a file of that stem exists; paths with
a placeholder (<x>, *, {a,b}, an UPPERCASE component such as TARGET) are skipped. Prints
`doc:line: path` per missing path, exits 1 if any.
"""

from __future__ import annotations

import argparse
import glob
import os
import re
import sys
from typing import Iterator, List, Sequence, Tuple

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOP = ("protocol", "auth", "config", "server", "tools", "tests", "docs", "packaging", ".ci")
BACKTICKED = re.compile(r"`([^`\n]+)`")
PATH = re.compile(r"^(?:\.\./)*([.\w-]+(?:/[.\w-]+)*/?)(?:::\w+|:\d+)?$")
PLACEHOLDER = re.compile(r"[<>*{}$]|(?:^|/)[A-Z][A-Z_]+(?:/|$)")


def documents(root: str) -> Iterator[str]:
    """Repository-relative paths of docs/*.md and every README.md, sorted (build trees skipped)."""
    for dirpath, dirnames, filenames in os.walk(root):
        rel = os.path.relpath(dirpath, root)
        dirnames[:] = sorted(d for d in dirnames
                             if not d.startswith((".git", "build")) and d != "node_modules")
        for f in sorted(filenames):
            if f == "README.md" or (rel == "docs" and f.endswith(".md")):
                yield os.path.normpath(os.path.join(rel, f))


def named_paths(text: str) -> Iterator[Tuple[int, str]]:
    """(line, path) for each backticked repository path in `text`."""
    for number, line in enumerate(text.splitlines(), 1):
        for chunk in BACKTICKED.findall(line):
            m = PATH.match(chunk.strip())
            if not m or PLACEHOLDER.search(chunk):
                continue
            path = m.group(1).rstrip("/")
            if path.split("/", 1)[0] in TOP and "/" in m.group(1):
                yield number, path


def check(root: str) -> Tuple[List[str], int, int]:
    """(missing as 'doc:line: path', documents read, paths checked)."""
    missing: List[str] = []
    docs = paths = 0
    for doc in documents(root):
        docs += 1
        with open(os.path.join(root, doc), encoding="utf-8", errors="replace") as f:
            for number, path in named_paths(f.read()):
                paths += 1
                full = os.path.join(root, path)
                if not os.path.exists(full) and not glob.glob(glob.escape(full) + ".*"):
                    missing.append(f"{doc}:{number}: {path}")
    return missing, docs, paths


def main(argv: Sequence[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--root", default=REPO, help="tree to check (default: this repository)")
    args = ap.parse_args(argv)
    missing, docs, paths = check(args.root)
    for m in missing:
        print(m)
    if docs == 0:
        print(f"doc paths: no documents in {args.root}")
        return 1
    print(f"doc paths: {docs} documents, {paths} paths, {len(missing)} missing")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
