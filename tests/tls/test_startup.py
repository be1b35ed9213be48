"""turnd refuses to start with a certificate it cannot serve (issue 12): a missing certificate or
key file, a key that does not match, an expired certificate, a file that is no PEM, a missing
tls.certs (SNI) file. Each exits non-zero within seconds with a message naming the file."""

import os
import shutil
import signal
import subprocess

import pytest

import _paths  # noqa: F401
import procs
import tlslib
from tlslib import HOST
from conftest import require_server_binary


def run_turnd(tmp_path, cert, key, extra=()):
    """turnd with a TLS listener on cert/key: (exit status or None if it kept running, output)."""
    require_server_binary()
    cfg = procs.ServerConfig(listen=[(HOST, procs.free_port())], secrets=[tlslib.SECRET],
                             extra_args=["--listen-tls", f"{HOST}:{procs.free_port('tcp')}",
                                         "--tls-cert", cert, "--tls-key", key, *extra])
    srv = procs.TurndProcess(cfg, log_dir=str(tmp_path))
    cmd = srv.command()
    env = {**os.environ, "RUNTIME_DIRECTORY": str(tmp_path)}
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, env=env, start_new_session=True)
    try:
        out, _ = p.communicate(timeout=10)
        rc = p.returncode
    except subprocess.TimeoutExpired:
        os.kill(p.pid, signal.SIGINT)
        try:
            out, _ = p.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            os.kill(p.pid, signal.SIGKILL)
            out, _ = p.communicate(timeout=10)
        rc = None
    procs.release_port_window(tuple(srv.config.relay_ports))
    return rc, out.decode("utf-8", "replace"), cmd


def expect_refused(tmp_path, cert, key, names, extra=()):
    rc, out, cmd = run_turnd(tmp_path, cert, key, extra)
    where = f"\n$ {' '.join(cmd)}\n{out[-3000:]}"
    assert rc is not None, "turnd kept running" + where
    assert rc != 0, "turnd exited 0" + where
    assert rc > 0, f"turnd crashed ({procs.describe_status(rc)})" + where
    assert names in out, f"the message does not name {names}" + where
    print(f"turnd exit {rc}: {out.strip().splitlines()[-1]}")
    return out


@pytest.fixture
def good(tmp_path):
    return tlslib.make_pair(str(tmp_path / "certs"), "good")


def test_missing_certificate_file(tmp_path, good):
    missing = str(tmp_path / "certs" / "missing.pem")
    expect_refused(tmp_path, missing, good.key, missing)


def test_missing_key_file(tmp_path, good):
    missing = str(tmp_path / "certs" / "missing.key")
    expect_refused(tmp_path, good.cert, missing, missing)


def test_key_not_matching(tmp_path, good):
    other = tlslib.make_pair(str(tmp_path / "certs"), "other")
    out = expect_refused(tmp_path, good.cert, other.key, "")
    assert good.cert in out or other.key in out, f"names neither file:\n{out[-2000:]}"
    assert "match" in out, f"the message does not say the key does not match:\n{out[-2000:]}"
    # An early build said "not a PEM private key (... key values mismatch)" for a good PEM key
    # of another certificate, sending the operator to look for a format problem.
    assert "not a PEM private key" not in out, f"a valid key reported as no PEM key:\n{out[-2000:]}"


def test_expired_certificate(tmp_path):
    os.makedirs(tmp_path / "certs", exist_ok=True)
    old = tlslib.make_expired_pair(str(tmp_path / "certs"), "expired")
    out = expect_refused(tmp_path, old.cert, old.key, old.cert)
    assert "expire" in out.lower(), f"the message does not say the certificate expired:\n{out[-2000:]}"


def test_file_that_is_not_pem(tmp_path, good):
    junk = str(tmp_path / "certs" / "junk.pem")
    with open(junk, "wb") as f:
        f.write(b"this is not a certificate\n" + os.urandom(64))
    expect_refused(tmp_path, junk, good.key, junk)


def test_certificate_given_as_key(tmp_path, good):
    copy = str(tmp_path / "certs" / "cert-as-key.pem")
    shutil.copy(good.cert, copy)
    expect_refused(tmp_path, good.cert, copy, copy)


def test_missing_sni_certificate(tmp_path, good):
    missing = str(tmp_path / "certs" / "sni-missing.pem")
    expect_refused(tmp_path, good.cert, good.key, missing,
                   extra=["--tls-sni-cert", f"{missing},{good.key}"])


def test_good_pair_starts(server_factory, threads, good):
    """The control: the same launcher with a good pair serves TLS."""
    s = tlslib.start_tls_server(server_factory, threads, good)
    assert tlslib.served_fingerprint(s.tls) == good.fingerprint
