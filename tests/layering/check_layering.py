#!/usr/bin/python3
"""Fails when a source file includes across a forbidden direction between the folders.

    check_layering.py [--root DIR] [--io-rule]

Scans every #include "..." and #include <...> line of every source (.hpp .h .cpp .cc .ipp .in)
under protocol/, auth/, config/, server/ and tools/ of the tree at DIR (default: this
repository). An include names a project file when its first component is one of those folders,
or when it exists relative to the including file; anything else (the standard library,
Boost, ...) is not checked. The rules, each a direction that must not be taken:

  protocol  -> anything outside protocol/   (the wire codec is a leaf)
  auth      -> server/, tools/              (no I/O, no server types)
  config    -> auth/, server/, tools/       (a leaf above protocol/)
  tools     -> server/                      (turnctl does not link the server)
  server/io -> server/ outside server/io/   (with --io-rule: listeners know protocol/ and their
                                             own types, not the dispatcher)

Prints one line per violation, `path:line: rule: #include "x"`, and exits 1 if there is any.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from dataclasses import dataclass
from typing import Iterator, List, Optional, Sequence

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LAYERS = ("protocol", "auth", "config", "server", "tools")
SOURCE_SUFFIXES = (".hpp", ".h", ".cpp", ".cc", ".ipp", ".in")
INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')


@dataclass(frozen=True)
class Rule:
    name: str
    source: str                   # path prefix of the including file
    forbidden: Sequence[str]      # path prefixes it must not include
    allowed: Sequence[str] = ()   # exceptions to forbidden


RULES = (
    Rule("protocol includes only protocol/", "protocol/", ("",), ("protocol/",)),
    Rule("auth does not include server/ or tools/", "auth/", ("server/", "tools/")),
    Rule("config does not include auth/, server/ or tools/", "config/", ("auth/", "server/", "tools/")),
    Rule("tools does not include server/", "tools/", ("server/",)),
)
IO_RULE = Rule("server/io includes only protocol/ and server/io/", "server/io/", ("server/",),
               ("server/io/",))


@dataclass(frozen=True)
class Violation:
    path: str
    line: int
    rule: str
    include: str

    def __str__(self) -> str:
        return f'{self.path}:{self.line}: {self.rule}: #include "{self.include}"'


def sources(root: str) -> Iterator[str]:
    """Repository-relative paths of the sources under the layer folders, sorted."""
    for layer in LAYERS:
        top = os.path.join(root, layer)
        for dirpath, dirnames, filenames in os.walk(top):
            dirnames.sort()
            for f in sorted(filenames):
                if f.endswith(SOURCE_SUFFIXES):
                    yield os.path.relpath(os.path.join(dirpath, f), root).replace(os.sep, "/")


def resolve(root: str, including: str, name: str) -> Optional[str]:
    """The repository-relative path an include names, or None when it is no project file."""
    if name.split("/", 1)[0] in LAYERS:
        return os.path.normpath(name).replace(os.sep, "/")
    here = os.path.dirname(including)
    candidate = os.path.normpath(os.path.join(here, name))
    if os.path.isfile(os.path.join(root, candidate)):
        rel = candidate.replace(os.sep, "/")
        if rel.split("/", 1)[0] in LAYERS:
            return rel
    return None


def broken(rule: Rule, target: str) -> bool:
    if any(target.startswith(a) for a in rule.allowed):
        return False
    return any(target.startswith(f) for f in rule.forbidden)


def check(root: str, io_rule: bool = False) -> tuple[List[Violation], int, int]:
    """(violations, files scanned, project includes checked)."""
    rules = RULES + ((IO_RULE,) if io_rule else ())
    violations: List[Violation] = []
    files = includes = 0
    for path in sources(root):
        files += 1
        applicable = [r for r in rules if path.startswith(r.source)]
        with open(os.path.join(root, path), encoding="utf-8", errors="replace") as f:
            for number, text in enumerate(f, 1):
                m = INCLUDE.match(text)
                if not m:
                    continue
                target = resolve(root, path, m.group(2))
                if target is None:
                    continue
                includes += 1
                for rule in applicable:
                    if broken(rule, target):
                        violations.append(Violation(path, number, rule.name, m.group(2)))
    return violations, files, includes


def main(argv: Sequence[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--root", default=REPO, help="tree to check (default: this repository)")
    ap.add_argument("--io-rule", action="store_true",
                    help="also require server/io/ to include only protocol/ and server/io/")
    args = ap.parse_args(argv)
    violations, files, includes = check(args.root, args.io_rule)
    for v in violations:
        print(v)
    if files == 0:
        print(f"layering: no sources under {', '.join(LAYERS)} in {args.root}")
        return 1
    print(f"layering: {files} files, {includes} project includes, {len(violations)} violations"
          + ("" if args.io_rule else " (server/io rule off: --io-rule)"))
    return 1 if violations else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
