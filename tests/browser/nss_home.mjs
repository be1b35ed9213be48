// A throw-away HOME for Chromium whose NSS database ($HOME/.pki/nssdb) trusts one
// certificate, so a test proves the certificate's chain and name the way a browser
// checks them (no --ignore-certificate-errors). See turns.test.mjs's header for what
// Chromium 156 needs; certutil is Debian's libnss3-tools.
//
//   const { home, env } = browserHome('label', certPath, true);   // env for Chromium
//   ... fs.rmSync(home, { recursive: true, force: true });

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

// "P,," (trusted peer) works for a CA:FALSE leaf such as `turnctl cert self-signed`'s and
// for OpenSSL's CA:TRUE one; "C,," only for the latter.
export function browserHome(label, certPath, trust, nssTrust = 'P,,') {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), `turnd-browser-home-${label}-`));
  const db = `sql:${path.join(home, '.pki', 'nssdb')}`;
  fs.mkdirSync(path.join(home, '.pki', 'nssdb'), { recursive: true });
  const certutil = (...args) => execFileSync('certutil', ['-d', db, ...args], { encoding: 'utf8', timeout: 30_000 });
  certutil('-N', '--empty-password');
  if (trust) certutil('-A', '-t', nssTrust, '-n', 'turnd-test', '-i', certPath);
  const listed = certutil('-L');
  assert.equal(/^turnd-test\s/m.test(listed), trust, `NSS database ${db} lists:\n${listed}`);
  return {
    home,
    env: { ...process.env, HOME: home, XDG_CONFIG_HOME: path.join(home, '.config'), XDG_CACHE_HOME: path.join(home, '.cache') },
  };
}
