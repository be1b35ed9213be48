#!/usr/bin/python3
"""Self-test of check_doc_paths.py: on a small tree, a missing path is reported with its document
and line, and present files, folders, units, pytest ids and placeholders are not."""

import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import check_doc_paths  # noqa: E402

DOC = """# Title
`server/shard.cpp` and `server/io/` exist; `config/redis_url` is a unit;
`tests/integration/test_turn.py::test_channel` is a pytest id, `server/shard.cpp:12` a line.
Placeholders: `tests/fuzz/corpus/<target>/`, `tests/fuzz/corpus/TARGET`, `server/*.cpp`.
Not ours: `/etc/turnd/turnd.yaml`, `std::string`, `a/b`.
`server/gone.hpp` is missing.
"""


def write(root: str, path: str, text: str = "") -> None:
    full = os.path.join(root, path)
    os.makedirs(os.path.dirname(full), exist_ok=True)
    with open(full, "w", encoding="utf-8") as f:
        f.write(text)


def main() -> int:
    with tempfile.TemporaryDirectory() as root:
        for path in ("server/shard.cpp", "server/io/udp_listener.cpp", "config/redis_url.hpp",
                     "tests/integration/test_turn.py"):
            write(root, path)
        write(root, "docs/GUIDE.md", DOC)
        write(root, "tests/README.md", "`tests/missing/` too\n")
        write(root, "build-x/README.md", "`server/not-checked.hpp`\n")  # build trees are skipped
        missing, docs, paths = check_doc_paths.check(root)
        expected = ["docs/GUIDE.md:6: server/gone.hpp", "tests/README.md:1: tests/missing"]
        ok = missing == expected and docs == 2 and paths == 7
        print(f"missing={missing} docs={docs} paths={paths}")
        print("self-test " + ("passed" if ok else f"FAILED: expected {expected}, 2 docs, 7 paths"))
        return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
