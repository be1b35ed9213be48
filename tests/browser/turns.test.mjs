// Headless Chromium over TURN over TLS (turns:, issue 12).  Two
// RTCPeerConnections in one page (webrtc_page.mjs), relay-only, whose only ICE
// server is turnd's TLS listener, exchange checked DataChannel messages; a
// second browser that does not trust the certificate must get no relay
// candidate.  Run through turns_stack.py, which makes the certificate, starts
// turnd (--listen-tls, --tls-cert, --tls-key, --admin-listen, a REST secret)
// and sets TURN_HOST, TURN_SECRET, TURN_RELAY_PORTS, TURNS_PORT, TURNS_CERT,
// TURNS_CERT_TOOL, TURND_ADMIN_URL, TURND_ADMIN_KEY:
//
//   /usr/bin/python3 turns_stack.py -- node --test turns.test.mjs
//
// What Chromium needs to trust a self-signed TURN server certificate
// ----------------------------------------------------------------------
// Chromium checks a turns: server's certificate like an https:// one (chain
// and name) and, when the check fails, gathers no relay candidate:
// icecandidateerror 701 "Failed to establish connection" for the turns: URL
// and nothing more (no certificate error is shown anywhere).  On Linux it takes
// locally added trust from the NSS database $HOME/.pki/nssdb of the user it
// runs as.  Checked with Debian 12's Chromium 156 and libnss3-tools 3.87:
//   1. A certificate that names the address of the URL in a subjectAltName:
//      for turns:127.0.0.1:PORT that is IP:127.0.0.1 (Chromium does not fall
//      back to the CN).
//      This test uses turnctl's (an X.509 v3 leaf, CA:FALSE, serverAuth):
//        turnctl cert self-signed --host 127.0.0.1 --days 2 --out DIR
//      or, the same for Chromium, OpenSSL's (a CA:TRUE certificate):
//        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
//          -days 2 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
//          -keyout DIR/key.pem -out DIR/cert.pem
//      (turns_stack.py --cert-tool openssl runs this test with the latter.)
//   2. A throw-away HOME whose new NSS database holds the certificate as a
//      trusted peer, "P,," (certutil is in Debian's libnss3-tools):
//        mkdir -p $HOME/.pki/nssdb
//        certutil -d sql:$HOME/.pki/nssdb -N --empty-password
//        certutil -d sql:$HOME/.pki/nssdb -A -t "P,," -n turnd-test -i DIR/cert.pem
//      "P,," works for both certificates above.  "C,," (trusted CA) works
//      only for OpenSSL's CA:TRUE one: turnctl's CA:FALSE leaf added with "C,,"
//      is not trusted (701, as if it were missing).
//   3. Chromium started with that HOME in its environment (here playwright's
//      launchPersistentContext({env})).  No flag is needed for the trust.  The
//      flags it gets (webrtc_page.mjs chromiumArgs) only keep it on the box;
//      of them, --host-resolver-rules must EXCLUDE 127.* (or the server's
//      address) or even the IP literal fails with 701.  Not
//      --ignore-certificate-errors: that makes any certificate pass, and the
//      untrusted case below would then prove nothing.
//   4. The URL turns:127.0.0.1:PORT?transport=tcp; getStats() reports the
//      local relay candidate's relayProtocol as "tls" and its url as the URL.
//
// Tests:
//  - trusted: the DataChannel carries every message both ways over a
//    relay/relay pair with relayProtocol "tls" on both sides; during the call
//    turnd's sessions API lists >= 2 allocations with transport "tls" on the
//    TLS listener and /metrics has turnd_allocations >= 2 and
//    turnd_allocations_by_transport{transport="tls"} >= 2; by then
//    turnd_tls_handshakes_total{transport="tls"} rose by >= 2.
//  - not trusted: the same page and server, only the NSS database lacks the
//    certificate: no relay candidate at either side, icecandidateerror 701 for
//    the turns: URL at both, turnd_tls_handshakes_total does not move, and
//    turnd_tls_handshake_failures_total{transport="tls",reason="peer_alert"}
//    rises (by 2 here, one per PeerConnection): Chromium answers the
//    certificate with a TLS alert.  The failures by reason are printed;
//    BROWSER_TURNS_FAILURE_REASON overrides the expected reason.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { browserHome as nssBrowserHome } from './nss_home.mjs';
import { assertRelayedSession, restCredentials, runInChromium } from './webrtc_page.mjs';

const host = process.env.TURN_HOST;
const secret = process.env.TURN_SECRET;
const tlsPort = Number(process.env.TURNS_PORT);
const certPath = process.env.TURNS_CERT;
const adminUrl = process.env.TURND_ADMIN_URL;
const adminKey = process.env.TURND_ADMIN_KEY;
const [relayLo, relayHi] = (process.env.TURN_RELAY_PORTS || '0-65535').split('-').map(Number);
const expectedFailure = process.env.BROWSER_TURNS_FAILURE_REASON || 'peer_alert';
// NSS trust flags for cert.pem (header, step 2); BROWSER_TURNS_NSS_TRUST overrides.
const nssTrust = process.env.BROWSER_TURNS_NSS_TRUST || 'P,,';

if (!host || !secret || !tlsPort || !certPath || !adminUrl || !adminKey) {
  throw new Error('TURN_HOST/TURN_SECRET/TURNS_PORT/TURNS_CERT/TURND_ADMIN_URL/TURND_ADMIN_KEY not set: ' +
    'run through turns_stack.py -- node --test turns.test.mjs');
}
const turnsUrl = `turns:${host}:${tlsPort}?transport=tcp`;
const HANDSHAKES = 'turnd_tls_handshakes_total{transport="tls"}';
const failureKey = (reason) => `turnd_tls_handshake_failures_total{transport="tls",reason="${reason}"}`;

const browserHome = (label, trust) => nssBrowserHome(label, certPath, trust, nssTrust);

async function adminGet(p, headers = {}) {
  let r;
  try {
    r = await fetch(adminUrl + p, { headers, signal: AbortSignal.timeout(5000) });
  } catch (err) {
    throw new Error(`turnd's admin listener did not answer GET ${adminUrl}${p} (is turnd still running?): ${err.cause || err}`);
  }
  const body = await r.text();
  assert.equal(r.status, 200, `GET ${p}: ${r.status} ${body.slice(0, 300)}`);
  return body;
}

// /metrics as { 'name{labels}': value }.
async function metrics() {
  const out = {};
  for (const line of (await adminGet('/metrics')).split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    out[line.slice(0, i)] = Number(line.slice(i + 1));
  }
  assert.ok(HANDSHAKES in out, `/metrics has no ${HANDSHAKES}`);
  return out;
}
const tlsFailures = (m) => Object.fromEntries(Object.entries(m)
  .filter(([k]) => k.startsWith('turnd_tls_handshake_failures_total{transport="tls",'))
  .map(([k, v]) => [/reason="([^"]*)"/.exec(k)[1], v]));
const delta = (after, before) => Object.fromEntries(Object.entries(after)
  .map(([k, v]) => [k, v - (before[k] || 0)]).filter(([, v]) => v !== 0));

const credentials = (user) => {
  const cred = restCredentials(secret, user);
  return { urls: [turnsUrl], username: cred.username, credential: cred.credential };
};

test(`DataChannel through TURN over TLS with a trusted certificate (${turnsUrl})`, { timeout: 120_000 }, async () => {
  const { home, env } = browserHome('trusted', true);
  try {
    const before = await metrics();
    const iceServer = credentials('browser-turns');
    const run = await runInChromium(iceServer, {
      host, env,
      duringCall: async () => ({
        metrics: await metrics(),
        sessions: JSON.parse(await adminGet('/api/v1/allocations', { Authorization: `Bearer ${adminKey}` })),
      }),
    });
    assertRelayedSession('turns', run, { protocols: ['tls'], host, relayLo, relayHi });
    const { result, info } = run;
    for (const name of ['A', 'B']) {
      const { url } = result.selected[name].local;
      assert.equal(url, turnsUrl, `${name}: local relay candidate from ${url}${info}`);
    }

    const during = result.duringCall;
    const ours = during.sessions.allocations.filter((a) => a.username === iceServer.username);
    console.log(`[turns] during the call: turnd_allocations ${during.metrics.turnd_allocations}, ` +
      `by transport tls ${during.metrics['turnd_allocations_by_transport{transport="tls"}']}; ` +
      `allocations ${JSON.stringify(ours.map((a) => ({ transport: a.transport, client: a.client, server: a.server, relayed: a.relayed })))}`);
    for (const key of ['turnd_allocations', 'turnd_allocations_by_transport{transport="tls"}']) {
      assert.ok(during.metrics[key] >= 2, `${key} ${during.metrics[key]} during the call, expected >= 2${info}`);
    }
    assert.ok(ours.length >= 2, `sessions API lists ${ours.length} allocations of ${iceServer.username} during the call, ` +
      `expected >= 2: ${JSON.stringify(during.sessions)}${info}`);
    for (const a of ours) {
      assert.equal(a.transport, 'tls', `allocation ${a.id} over ${a.transport}, expected tls`);
      assert.equal(a.server, `${host}:${tlsPort}`, `allocation ${a.id} on ${a.server}, expected the TLS listener`);
    }

    const after = await metrics();
    const failures = delta(tlsFailures(after), tlsFailures(before));
    console.log(`[turns] ${HANDSHAKES} +${during.metrics[HANDSHAKES] - before[HANDSHAKES]} by the call, ` +
      `+${after[HANDSHAKES] - before[HANDSHAKES]} after it; TLS handshake failures ${JSON.stringify(failures)}`);
    assert.ok(during.metrics[HANDSHAKES] - before[HANDSHAKES] >= 2,
      `${HANDSHAKES} rose by ${during.metrics[HANDSHAKES] - before[HANDSHAKES]} by the time of the call, expected >= 2`);
    assert.deepEqual(failures, {}, 'TLS handshakes failed although Chromium trusts the certificate');
  } finally {
    fs.rmSync(home, { recursive: true, force: true });
  }
});

test('no relay candidate when the certificate is not trusted (icecandidateerror 701)', { timeout: 120_000 }, async () => {
  const { home, env } = browserHome('untrusted', false);
  try {
    const before = await metrics();
    const { result, info } = await runInChromium(credentials('browser-turns-untrusted'), { host, env });
    console.log(`[untrusted] ${result.ok ? 'CONNECTED' : result.error}; icecandidateerror: ` +
      `${result.errors.map((e) => `${e.pc}:${e.errorCode} ${e.errorText} (${e.url})`).join(', ') || 'none'}`);
    assert.equal(result.ok, false, `the session worked although Chromium does not trust the certificate${info}`);
    assert.match(result.error, /ICE gathering completed without a relay candidate/, `unexpected failure${info}`);
    for (const name of ['A', 'B']) {
      assert.ok(!result.candidates[name].some((c) => / typ relay /.test(c)),
        `${name} gathered a relay candidate without trusting the certificate${info}`);
      assert.ok(result.errors.some((e) => e.pc === name && e.errorCode === 701 && e.url === turnsUrl),
        `${name}: no icecandidateerror 701 for ${turnsUrl}${info}`);
    }

    // The server counts a failure when the client's alert (or close) arrives,
    // one per PeerConnection: poll /metrics for up to 5 s for both.
    const counted = (m) => delta(tlsFailures(m), tlsFailures(before))[expectedFailure] || 0;
    let after = await metrics();
    for (let i = 0; i < 50 && counted(after) < 2; i++) {
      await new Promise((r) => setTimeout(r, 100));
      after = await metrics();
    }
    const failures = delta(tlsFailures(after), tlsFailures(before));
    console.log(`[untrusted] ${HANDSHAKES} +${after[HANDSHAKES] - before[HANDSHAKES]}; ` +
      `turnd_tls_handshake_failures_total{transport="tls"} by reason: ${JSON.stringify(failures)}`);
    assert.equal(after[HANDSHAKES] - before[HANDSHAKES], 0, `a TLS handshake completed although Chromium does not trust the certificate`);
    assert.ok(counted(after) >= 2,
      `${failureKey(expectedFailure)} rose by ${counted(after)}, expected >= 2 (A and B); failures by reason: ${JSON.stringify(failures)}`);
  } finally {
    fs.rmSync(home, { recursive: true, force: true });
  }
});
