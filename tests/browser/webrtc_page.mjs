// The WebRTC page shared by the browser tests (datachannel.test.mjs,
// turns.test.mjs): two RTCPeerConnections in one page, relay-only, with one
// iceServers entry; a DataChannel carries N checked messages each way (CRC-32,
// sequence numbers), then getStats() gives the selected candidate pair.
//
//   runInChromium(iceServer, opts)   one scenario in a fresh headless Chromium
//   assertRelayedSession(label, run, expect)
//                                    every message arrived over a relay/relay pair
//   restPassword(secret, username)   TURN REST API credential

import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_BIN || '/usr/bin/chromium';
export const N_MESSAGES = Number(process.env.BROWSER_N_MESSAGES || 50);

// TURN REST API credentials: "<expiry>:<user>", base64(HMAC-SHA1(secret, username)).
export const restPassword = (key, username) => crypto.createHmac('sha1', key).update(username).digest('base64');
export function restCredentials(secret, user, ttl = 3600) {
  const username = `${Math.floor(Date.now() / 1000) + ttl}:${user}`;
  return { username, credential: restPassword(secret, username) };
}

// Flags that keep Chromium on the box (see /work/shared/notes: no mDNS, no
// update or component traffic, no name lookups but the TURN server's).
export function chromiumArgs(host) {
  return [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--no-proxy-server',
    '--disable-features=WebRtcHideLocalIpsWithMdns,MediaRouter,DialMediaRouteProvider',
    // Chromium applies these to TURN-over-TCP (and TLS) IP literals too: without
    // the EXCLUDEs, turn:127.0.0.1?transport=tcp fails with icecandidateerror 701.
    `--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE localhost , EXCLUDE 127.* , EXCLUDE ${host}`,
  ];
}

// Runs inside the page.
async function pageScenario(cfg) {
  const t0 = performance.now();
  const log = [];
  const note = (msg) => log.push(`${Math.round(performance.now() - t0)}ms ${msg}`);
  const errors = [];
  const candidates = { A: [], B: [] };
  const withTimeout = (p, ms, what) => Promise.race([
    p,
    new Promise((_, reject) => setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms)),
  ]);

  // CRC-32 (IEEE), to check every message end to end.
  const crcTable = new Uint32Array(256).map((_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xEDB88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc32 = (bytes) => {
    let c = 0xFFFFFFFF;
    for (const b of bytes) c = crcTable[(c ^ b) & 0xFF] ^ (c >>> 8);
    return (c ^ 0xFFFFFFFF) >>> 0;
  };
  // message = [dir u8][seq u32][len u32][payload len bytes][crc32 u32 over all before]
  const makeMessage = (dir, seq) => {
    const len = 1 + ((seq * 7919) % 6000);
    const buf = new Uint8Array(9 + len + 4);
    const dv = new DataView(buf.buffer);
    dv.setUint8(0, dir);
    dv.setUint32(1, seq);
    dv.setUint32(5, len);
    crypto.getRandomValues(buf.subarray(9, 9 + len));
    dv.setUint32(9 + len, crc32(buf.subarray(0, 9 + len)));
    return buf;
  };
  const checkMessage = (data, dir, expectSeq) => {
    const buf = new Uint8Array(data);
    if (buf.length < 13) return `message ${expectSeq}: only ${buf.length} bytes`;
    const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    const gotDir = dv.getUint8(0), seq = dv.getUint32(1), len = dv.getUint32(5);
    if (gotDir !== dir) return `message ${expectSeq}: direction ${gotDir}, expected ${dir}`;
    if (seq !== expectSeq) return `message ${expectSeq}: got sequence ${seq} (out of order, lost or duplicated)`;
    if (buf.length !== 13 + len) return `message ${seq}: length ${buf.length}, header says ${13 + len}`;
    if (dv.getUint32(9 + len) !== crc32(buf.subarray(0, 9 + len))) return `message ${seq}: checksum mismatch`;
    return null;
  };

  const config = { iceServers: [cfg.iceServer], iceTransportPolicy: 'relay' };
  const pcs = { A: new RTCPeerConnection(config), B: new RTCPeerConnection(config) };
  const other = { A: 'B', B: 'A' };
  const remoteSet = {};
  const remoteSetResolve = {};
  for (const name of ['A', 'B']) {
    remoteSet[name] = new Promise((r) => { remoteSetResolve[name] = r; });
    const pc = pcs[name];
    pc.onicecandidateerror = (e) => {
      errors.push({ pc: name, url: e.url, errorCode: e.errorCode, errorText: e.errorText, address: e.address, port: e.port });
      note(`${name} icecandidateerror ${e.errorCode} ${e.errorText} (${e.url})`);
    };
    pc.oniceconnectionstatechange = () => note(`${name} iceConnectionState=${pc.iceConnectionState}`);
    pc.onconnectionstatechange = () => note(`${name} connectionState=${pc.connectionState}`);
    pc.onicegatheringstatechange = () => note(`${name} iceGatheringState=${pc.iceGatheringState}`);
    pc.onicecandidate = async (e) => {
      if (!e.candidate || !e.candidate.candidate) return;
      const c = e.candidate;
      candidates[name].push(c.candidate);
      note(`${name} candidate ${c.candidate}`);
      if (c.type !== 'relay') return; // hand over relay candidates only
      const peer = pcs[other[name]];
      await remoteSet[other[name]];
      try {
        await peer.addIceCandidate(c);
      } catch (err) {
        note(`${other[name]} addIceCandidate failed: ${err}`);
      }
    };
  }

  const dcA = pcs.A.createDataChannel('checked', { ordered: true });
  dcA.binaryType = 'arraybuffer';
  const dcBPromise = new Promise((resolve) => {
    pcs.B.ondatachannel = (e) => { e.channel.binaryType = 'arraybuffer'; resolve(e.channel); };
  });

  const result = { log, errors, candidates, ok: false };
  try {
    const offer = await pcs.A.createOffer();
    await pcs.A.setLocalDescription(offer);
    await pcs.B.setRemoteDescription(offer);
    remoteSetResolve.B();
    const answer = await pcs.B.createAnswer();
    await pcs.B.setLocalDescription(answer);
    await pcs.A.setRemoteDescription(answer);
    remoteSetResolve.A();

    const opened = (dc) => (dc.readyState === 'open' ? Promise.resolve()
      : new Promise((resolve, reject) => {
        dc.onopen = () => resolve();
        dc.onerror = (e) => reject(new Error(`datachannel error ${e.error || e}`));
      }));
    // Fail fast when gathering ends without a relay candidate on either side.
    const gathered = (name) => new Promise((resolve) => {
      const pc = pcs[name];
      if (pc.iceGatheringState === 'complete') return resolve();
      pc.addEventListener('icegatheringstatechange', () => { if (pc.iceGatheringState === 'complete') resolve(); });
    });
    const noRelay = Promise.all([gathered('A'), gathered('B')]).then(() => {
      const missing = ['A', 'B'].filter((n) => !candidates[n].some((c) => / typ relay /.test(c)));
      if (missing.length) throw new Error(`ICE gathering completed without a relay candidate at ${missing.join(' and ')}`);
      return new Promise(() => {});
    });
    const dcB = await withTimeout(Promise.race([dcBPromise, noRelay]), cfg.connectTimeoutMs,
      'the DataChannel at B (ICE/DTLS/SCTP through the relay)');
    await withTimeout(Promise.all([opened(dcA), opened(dcB)]), cfg.connectTimeoutMs, 'both DataChannel ends to open');
    note('datachannel open');

    const receive = (dc, dir) => new Promise((resolve, reject) => {
      let next = 0;
      const problems = [];
      dc.onmessage = (e) => {
        const problem = checkMessage(e.data, dir, next);
        if (problem) problems.push(problem);
        next++;
        if (next === cfg.n) resolve({ received: next, problems });
      };
      setTimeout(() => resolve({ received: next, problems, timedOut: true }), cfg.transferTimeoutMs);
    });
    const gotAtB = receive(dcB, 1);
    const gotAtA = receive(dcA, 2);
    for (let i = 0; i < cfg.n; i++) {
      dcA.send(makeMessage(1, i));
      dcB.send(makeMessage(2, i));
    }
    const [atB, atA] = await Promise.all([gotAtB, gotAtA]);
    result.atB = atB;
    result.atA = atA;
    note(`A->B received ${atB.received}/${cfg.n}, B->A received ${atA.received}/${cfg.n}`);

    // The selected candidate pair on each side.
    result.selected = {};
    for (const name of ['A', 'B']) {
      const stats = await pcs[name].getStats();
      const byId = new Map();
      stats.forEach((s) => byId.set(s.id, s));
      let pair = null;
      stats.forEach((s) => {
        if (s.type === 'transport' && s.selectedCandidatePairId) pair = byId.get(s.selectedCandidatePairId);
      });
      if (!pair) {
        stats.forEach((s) => { if (s.type === 'candidate-pair' && s.nominated && s.state === 'succeeded') pair = s; });
      }
      const pick = (c) => c && {
        candidateType: c.candidateType, relayProtocol: c.relayProtocol, protocol: c.protocol,
        address: c.address, port: c.port, url: c.url,
      };
      result.selected[name] = pair && {
        state: pair.state, bytesSent: pair.bytesSent, bytesReceived: pair.bytesReceived,
        local: pick(byId.get(pair.localCandidateId)),
        remote: pick(byId.get(pair.remoteCandidateId)),
      };
    }
    // Still in the call (DataChannel open, both PeerConnections alive): the
    // test's hook (page.exposeFunction) looks at the server now.
    if (cfg.duringCall) result.duringCall = await window.turndDuringCall();
    result.ok = true;
  } catch (err) {
    result.error = String(err && err.message || err);
    for (const name of ['A', 'B']) {
      result[`state${name}`] = { ice: pcs[name].iceConnectionState, conn: pcs[name].connectionState, gathering: pcs[name].iceGatheringState };
    }
  } finally {
    pcs.A.close();
    pcs.B.close();
  }
  return result;
}

function describe(result) {
  return JSON.stringify({
    error: result.error, errors: result.errors, stateA: result.stateA, stateB: result.stateB,
    selected: result.selected, atA: result.atA, atB: result.atB, candidates: result.candidates,
  }, null, 2) + '\npage log:\n  ' + result.log.join('\n  ');
}

// One page scenario in a fresh headless Chromium (fresh user data directory);
// returns the page's result, uncaught page errors and a text block for
// assertion messages.  opts:
//   host        the TURN server's address, let through --host-resolver-rules
//   env         the browser's environment (default: ours), e.g. another HOME
//               (Chromium's NSS database is $HOME/.pki/nssdb)
//   args        more Chromium flags
//   duringCall  async () => JSON value: run once the DataChannel has carried
//               every message, while both PeerConnections are still up; its
//               value is result.duringCall
export async function runInChromium(iceServer, opts = {}) {
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'turnd-chromium-'));
  let context;
  try {
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: [...chromiumArgs(opts.host), ...(opts.args || [])],
      env: opts.env,
      timeout: 60_000,
    });
    const page = context.pages()[0] || await context.newPage();
    const pageErrors = [];
    page.on('pageerror', (e) => pageErrors.push(String(e)));
    if (opts.duringCall) await page.exposeFunction('turndDuringCall', opts.duringCall);
    await page.setContent('<!doctype html><title>turnd datachannel</title><p>turnd datachannel test</p>');
    const result = await page.evaluate(pageScenario, {
      iceServer, n: N_MESSAGES, connectTimeoutMs: 30_000, transferTimeoutMs: 30_000,
      duringCall: Boolean(opts.duringCall),
    });
    const shown = { ...iceServer, credential: iceServer.credential === undefined ? undefined : '<redacted>' };
    const info = `\niceServers entry ${JSON.stringify(shown)}\n${describe(result)}` +
      `${pageErrors.length ? `\npage errors: ${pageErrors.join('\n')}` : ''}`;
    return { result, pageErrors, info };
  } finally {
    if (context) await context.close().catch(() => {});
    fs.rmSync(userDataDir, { recursive: true, force: true });
  }
}

// The session worked: every message arrived intact both ways over a
// relay/relay pair whose local relayProtocol is one of expect.protocols, with
// relay addresses expect.host:expect.relayLo..expect.relayHi.
export function assertRelayedSession(label, { result, pageErrors, info }, expect) {
  const { protocols, host, relayLo, relayHi } = expect;
  console.log(`[${label}] ${result.log.length} page events; selected: ${JSON.stringify(result.selected)}`);
  if (!result.ok) {
    const codes = result.errors.map((e) => `${e.pc}:${e.errorCode} ${e.errorText}`).join(', ');
    assert.fail(`WebRTC session (${label}) failed: ${result.error}` +
      (codes ? `; icecandidateerror: ${codes}` : '; no icecandidateerror reported') + info);
  }
  for (const [dirName, got] of [['A->B', result.atB], ['B->A', result.atA]]) {
    assert.equal(got.problems.length, 0, `${dirName}: corrupted/misordered messages: ${got.problems.slice(0, 10).join('; ')}${info}`);
    assert.equal(got.received, N_MESSAGES, `${dirName}: received ${got.received} of ${N_MESSAGES} messages${info}`);
  }
  for (const name of ['A', 'B']) {
    const sel = result.selected[name];
    assert.ok(sel && sel.local && sel.remote, `${name}: no selected candidate pair in getStats()${info}`);
    assert.equal(sel.local.candidateType, 'relay', `${name}: local candidate of the selected pair is ${sel.local.candidateType}, not relay${info}`);
    assert.equal(sel.remote.candidateType, 'relay', `${name}: remote candidate of the selected pair is ${sel.remote.candidateType}, not relay${info}`);
    assert.ok(protocols.includes(sel.local.relayProtocol),
      `${name}: local relayProtocol is ${sel.local.relayProtocol}, expected ${protocols.join(' or ')}${info}`);
    for (const side of ['local', 'remote']) {
      const c = sel[side];
      assert.equal(c.address, host, `${name}: ${side} relay address ${c.address}, expected ${host}${info}`);
      assert.ok(c.port >= relayLo && c.port <= relayHi, `${name}: ${side} relay port ${c.port} outside ${relayLo}-${relayHi}${info}`);
    }
  }
  assert.equal(result.errors.length, 0, `icecandidateerror events although the session worked${info}`);
  assert.deepEqual(pageErrors, []);
}
