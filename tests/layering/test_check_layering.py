#!/usr/bin/python3
"""Self-test of check_layering.py on small trees written to a temp directory: every rule reports
its violation with path, line and rule; allowed directions and non-project includes pass; the
server/io rule applies only with --io-rule; the exit status says which."""

import os
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import check_layering  # noqa: E402

CHECKER = os.path.join(HERE, "check_layering.py")

CLEAN = {
    "protocol/bytes.hpp": "#pragma once\n#include <cstdint>\n",
    "protocol/message_view.hpp": '#include "protocol/bytes.hpp"\n#include "bytes.hpp"\n',
    "auth/nonce.hpp": '#include "protocol/bytes.hpp"\n#include "config/redis_url.hpp"\n',
    "auth/redis/store.cpp": '#include "auth/nonce.hpp"\n#include <hiredis/hiredis.h>\n',
    "config/config.hpp": '#include "protocol/bytes.hpp"\n#include "config/redis_url.hpp"\n',
    "config/redis_url.hpp": "#pragma once\n",
    "server/dispatcher.hpp": '#include "auth/nonce.hpp"\n#include "config/config.hpp"\n'
                             '#include "server/io/listener.hpp"\n',
    "server/io/listener.hpp": '#include "protocol/bytes.hpp"\n#include "server/io/counters.hpp"\n'
                              "#include <boost/asio.hpp>\n",
    "server/io/counters.hpp": "#pragma once\n",
    "tools/turnctl/main.cpp": '#include "auth/nonce.hpp"\n#include "config/config.hpp"\n'
                              '#include "protocol/version.hpp"\n',
}

# path -> (content, the line that breaks a rule, the rule's name)
BAD = {
    "protocol/bad_server.hpp": ('#include "protocol/bytes.hpp"\n#include "server/dispatcher.hpp"\n', 2,
                                "protocol includes only protocol/"),
    "protocol/bad_auth.cpp": ('// auth\n\n#include <auth/nonce.hpp>\n', 3, "protocol includes only protocol/"),
    "protocol/attributes/bad_relative.hpp": ('#include "../../config/config.hpp"\n', 1,
                                             "protocol includes only protocol/"),
    "auth/bad.cpp": ('#include "auth/nonce.hpp"\n#include "server/dispatcher.hpp"\n', 2,
                     "auth does not include server/ or tools/"),
    "auth/redis/bad.cpp": ('  #  include "tools/turnctl/context.hpp"\n', 1,
                           "auth does not include server/ or tools/"),
    "config/bad.cpp": ('#include "config/config.hpp"\n#include "auth/nonce.hpp"\n', 2,
                       "config does not include auth/, server/ or tools/"),
    "tools/turnctl/bad.cpp": ('#include "server/dispatcher.hpp"\n', 1, "tools does not include server/"),
}

IO_BAD = ("server/io/bad_listener.hpp", '#include "protocol/bytes.hpp"\n#include "server/dispatcher.hpp"\n',
          2, "server/io includes only protocol/ and server/io/")


def write_tree(root, files):
    for path, content in files.items():
        full = os.path.join(root, path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "w") as f:
            f.write(content)


def run_cli(root, *args):
    return subprocess.run([sys.executable, CHECKER, "--root", root, *args], capture_output=True,
                          text=True, timeout=60)


class CleanTree(unittest.TestCase):
    def test_allowed_directions_pass(self):
        with tempfile.TemporaryDirectory() as root:
            write_tree(root, CLEAN)
            violations, files, includes = check_layering.check(root, io_rule=True)
            self.assertEqual(violations, [])
            self.assertEqual(files, len(CLEAN))
            self.assertEqual(includes, 15)  # <cstdint>, <hiredis/...>, <boost/...> are not ours
            r = run_cli(root, "--io-rule")
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            self.assertIn("0 violations", r.stdout)

    def test_empty_tree_fails(self):
        with tempfile.TemporaryDirectory() as root:
            r = run_cli(root)
            self.assertEqual(r.returncode, 1, r.stdout)
            self.assertIn("no sources", r.stdout)


class Violations(unittest.TestCase):
    def test_each_rule_reports_file_line_and_rule(self):
        with tempfile.TemporaryDirectory() as root:
            write_tree(root, CLEAN)
            write_tree(root, {p: c for p, (c, _, _) in BAD.items()})
            violations, _, _ = check_layering.check(root)
            got = {(v.path, v.line, v.rule) for v in violations}
            want = {(p, line, rule) for p, (_, line, rule) in BAD.items()}
            self.assertEqual(got, want)
            r = run_cli(root)
            self.assertEqual(r.returncode, 1)
            self.assertIn('tools/turnctl/bad.cpp:1: tools does not include server/: '
                          '#include "server/dispatcher.hpp"', r.stdout)
            self.assertIn(f"{len(BAD)} violations", r.stdout)

    def test_io_rule_only_with_its_switch(self):
        path, content, line, rule = IO_BAD
        with tempfile.TemporaryDirectory() as root:
            write_tree(root, CLEAN)
            write_tree(root, {path: content})
            self.assertEqual(check_layering.check(root)[0], [])
            self.assertEqual(run_cli(root).returncode, 0)
            violations, _, _ = check_layering.check(root, io_rule=True)
            self.assertEqual([(v.path, v.line, v.rule) for v in violations], [(path, line, rule)])
            r = run_cli(root, "--io-rule")
            self.assertEqual(r.returncode, 1)
            self.assertIn(f"{path}:{line}: {rule}", r.stdout)


if __name__ == "__main__":
    unittest.main(verbosity=2)
