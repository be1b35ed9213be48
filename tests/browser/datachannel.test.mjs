// Headless Chromium: two RTCPeerConnections in one page, relay-only, with the
// TURN server under test as their only ICE server; a DataChannel carries N
// checked messages each way (the page and its checks: webrtc_page.mjs).  Run
// through tests/lib/run_with_server.py, which starts the server and sets
// TURN_HOST, TURN_PORT, TURN_SECRET, TURN_RELAY_PORTS.
// BROWSER_TURN_TRANSPORT=udp|tcp picks the client-server transport (default:
// both).
//
//   /usr/bin/python3 ../lib/run_with_server.py -- node --test datachannel.test.mjs
//
// With BROWSER_ICE_SERVER_FILE=<file holding one iceServers entry as JSON, e.g.
// the output of `turnctl mint --format json`> the page uses that entry as is
// (TURN_SECRET, TURN_PORT and BROWSER_TURN_TRANSPORT are then unused; the
// expected relayProtocol comes from the entry's urls).  BROWSER_REJECT_SECRETS
// (a JSON array of strings) adds negative controls: the same entry with its
// credential recomputed as base64(HMAC-SHA1(secret, username)) for each
// secret must fail gathering with icecandidateerror 401 and no relay candidate.
// redis_stack.py runs it that way against turnd with a Redis secret.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { assertRelayedSession, restCredentials, restPassword, runInChromium } from './webrtc_page.mjs';

const host = process.env.TURN_HOST;
const port = Number(process.env.TURN_PORT);
const secret = process.env.TURN_SECRET;
const [relayLo, relayHi] = (process.env.TURN_RELAY_PORTS || '0-65535').split('-').map(Number);
const transports = process.env.BROWSER_TURN_TRANSPORT
  ? [process.env.BROWSER_TURN_TRANSPORT]
  : ['udp', 'tcp'];
const iceServerFile = process.env.BROWSER_ICE_SERVER_FILE;
const rejectSecrets = JSON.parse(process.env.BROWSER_REJECT_SECRETS || '[]');

if (!host || (!iceServerFile && (!port || !secret))) {
  throw new Error('TURN_HOST/TURN_PORT/TURN_SECRET not set: run through tests/lib/run_with_server.py -- ...');
}
if (!Array.isArray(rejectSecrets) || !rejectSecrets.every((x) => typeof x === 'string')) {
  throw new Error('BROWSER_REJECT_SECRETS must be a JSON array of strings');
}

const expect = (protocols) => ({ protocols, host, relayLo, relayHi });

if (!iceServerFile) {
  for (const transport of transports) {
    test(`DataChannel through TURN relays (${transport})`, { timeout: 180_000 }, async () => {
      const url = `turn:${host.includes(':') ? `[${host}]` : host}:${port}?transport=${transport}`;
      const cred = restCredentials(secret, `browser-${transport}`);
      const run = await runInChromium({ urls: [url], username: cred.username, credential: cred.credential }, { host });
      assertRelayedSession(transport, run, expect([transport]));
    });
  }
} else {
  const entry = JSON.parse(fs.readFileSync(iceServerFile, 'utf8'));
  const urls = [].concat(entry.urls);
  // relayProtocol: udp or tcp for turn:, tls for turns:.
  const entryProtocols = [...new Set(urls.filter((u) => /^turns?:/i.test(u))
    .map((u) => (/^turns:/i.test(u) ? 'tls'
      : (/[?&]transport=(udp|tcp)/i.exec(u) || [, 'udp'])[1].toLowerCase())))];

  test(`DataChannel through TURN relays (iceServers entry from ${path.basename(iceServerFile)})`, { timeout: 180_000 }, async () => {
    assert.ok(entryProtocols.length, `no turn: URL in the iceServers entry ${JSON.stringify(urls)}`);
    assertRelayedSession('entry', await runInChromium(entry, { host }), expect(entryProtocols));
  });

  // Negative controls: the same username with a credential from another
  // secret.  Gathering must end without a relay candidate, with 401s.
  rejectSecrets.forEach((wrong, i) => {
    test(`credential from a secret the server does not know is rejected (#${i + 1})`, { timeout: 120_000 }, async () => {
      const bad = { ...entry, credential: restPassword(wrong, entry.username) };
      assert.notEqual(bad.credential, entry.credential, 'the negative control secret is the real one');
      const { result, info } = await runInChromium(bad, { host });
      console.log(`[reject #${i + 1}] ${result.ok ? 'CONNECTED' : result.error}; ` +
        `icecandidateerror: ${result.errors.map((e) => `${e.pc}:${e.errorCode}`).join(', ') || 'none'}`);
      assert.equal(result.ok, false, `the session worked with a credential from the wrong secret${info}`);
      for (const name of ['A', 'B']) {
        assert.ok(!result.candidates[name].some((c) => / typ relay /.test(c)),
          `${name} gathered a relay candidate with a credential from the wrong secret${info}`);
        assert.ok(result.errors.some((e) => e.pc === name && e.errorCode === 401),
          `${name}: no icecandidateerror 401${info}`);
      }
      assert.match(result.error, /ICE gathering completed without a relay candidate/, `unexpected failure${info}`);
    });
  });
}
