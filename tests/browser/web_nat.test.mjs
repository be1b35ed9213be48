// The web listener's pages from behind a real NAT, over HTTPS (issue 15). web_nat_stack.py
// runs this inside the client namespace of a NAT lab (Chromium at CLIENT_IP behind a NAT
// whose public address is NAT_PUBLIC_IP) against turnd in the server namespace, and gives
// WEB_URL (https://WEB_HOST:8443), WEB_CERT (the server's self-signed certificate) and NAT_KIND.
// Chromium trusts WEB_CERT through a throw-away NSS database (nss_home.mjs), so the pages
// and turns: are checked as a browser checks a real certificate.
//  - /ice: the stun: URI gives a srflx candidate whose address is the NAT's public address
//    (the host candidate is the client's own address), and each turn:/turns: URI a relay
//    candidate on turnd's address with relayProtocol udp, tcp and tls;
//  - /call over turns: (transport=tls), relay only, two tabs: video and audio both ways over
//    a relay/relay pair whose relayProtocol is "tls"; the video elements are not blank;
//  - /call without "relay only": the pair in use is a direct one and the panel says so;
//  - a browser that does not trust the certificate does not get the page.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { browserHome } from './nss_home.mjs';
import {
  assertVideoVisible, hangUp, openCall, runIce, videoRegions, waitForMedia, withChromium,
} from './web_pages.mjs';

const { WEB_URL: WEB, WEB_HOST: HOST, WEB_CERT: CERT, NAT_PUBLIC_IP, CLIENT_IP } = process.env;
const NAT_KIND = process.env.NAT_KIND || 'port-restricted';
const LOGDIR = process.env.TURN_TEST_LOGDIR || os.tmpdir();
if (!WEB || !HOST || !CERT || !NAT_PUBLIC_IP || !CLIENT_IP)
  throw new Error('WEB_URL/WEB_HOST/WEB_CERT/NAT_PUBLIC_IP/CLIENT_IP not set: run through web_nat_stack.py');

// Chromium trusting the server's certificate, behind the NAT.
async function trusted(label, fn) {
  const { home, env } = browserHome(label, CERT, true);
  try {
    return await withChromium(fn, { host: HOST, env });
  } finally {
    fs.rmSync(home, { recursive: true, force: true });
  }
}

test(`/ice over HTTPS behind a ${NAT_KIND} NAT lists srflx and relay candidates`, { timeout: 90_000 }, async () => {
  await trusted('ice', async (context) => {
    const log = [];
    const { result } = await runIce(context, `${WEB}/ice`, log);
    console.log(JSON.stringify(result, null, 1));
    assert.ok(!result.error, result.error);
    const row = (pred, what) => {
      const rows = result.rows.filter(pred);
      assert.equal(rows.length, 1, `one ${what} row expected: ${JSON.stringify(result.rows.map((r) => r.url))}`);
      return rows[0];
    };
    const stun = row((r) => r.url.startsWith('stun:'), 'stun:');
    assert.ok(stun.ok && !stun.noNat, `stun: ${stun.verdict}`);
    const srflx = stun.candidates.filter((c) => c.type === 'srflx');
    assert.ok(srflx.length > 0, `no srflx candidate from ${stun.url}: ${JSON.stringify(stun)}`);
    for (const c of srflx) assert.equal(c.address, NAT_PUBLIC_IP, `srflx ${JSON.stringify(c)}`);
    assert.match(stun.verdict, /^works: srflx candidate in \d+ ms$/);
    assert.deepEqual(stun.errors, []);
    // The browser's own address is behind the NAT: its host candidates are the client's.
    const hosts = stun.candidates.filter((c) => c.type === 'host' && c.protocol === 'udp');
    assert.ok(hosts.length > 0 && hosts.every((c) => c.address === CLIENT_IP), `host ${JSON.stringify(hosts)}`);

    const expected = [
      [(r) => r.url.startsWith('turn:') && r.transport === 'udp', 'turn: udp', 'udp'],
      [(r) => r.url.startsWith('turn:') && r.transport === 'tcp', 'turn: tcp', 'tcp'],
      [(r) => r.url.startsWith('turns:'), 'turns:', 'tls'],
    ];
    for (const [pred, what, protocol] of expected) {
      const r = row(pred, what);
      assert.ok(r.ok, `${r.url}: ${r.verdict} ${JSON.stringify(r.errors)}`);
      const relay = r.candidates.find((c) => c.type === 'relay');
      assert.equal(relay.address, HOST, `${r.url}: ${JSON.stringify(relay)}`);
      assert.equal(relay.relayProtocol, protocol, `${r.url}: ${JSON.stringify(relay)}`);
      assert.deepEqual(r.errors, [], `${r.url}`);
    }
  });
});

test('/call over turns: (TLS) from behind the NAT, relay to relay', { timeout: 150_000 }, async () => {
  await trusted('call-tls', async (context) => {
    const log = [];
    const [a, b] = await openCall(context, `${WEB}/call?room=nat-tls-${process.pid}&relay=1&transport=tls`, log);
    const [sa, sb] = await waitForMedia(a, b, (s) => s.localType === 'relay' && s.remoteType === 'relay' &&
      s.framesDecoded > 30 && s.audioPacketsReceived > 50, log);
    console.log(`tls: A ${JSON.stringify(sa)}\ntls: B ${JSON.stringify(sb)}`);
    for (const s of [sa, sb]) {
      assert.equal(s.relayProtocol, 'tls', JSON.stringify(s));
      assert.equal(s.connectionState, 'connected');
    }
    assert.match(await a.textContent('#s-local'), new RegExp(`^relay udp ${HOST.replaceAll('.', '\\.')}:\\d+$`));
    assert.equal(await a.textContent('#s-relay'), 'tls');
    const { png, regions } = await videoRegions(context, a);
    console.log(`tls: video regions ${JSON.stringify(regions)}`);
    assertVideoVisible(regions, 'tls');
    fs.mkdirSync(LOGDIR, { recursive: true });
    fs.writeFileSync(path.join(LOGDIR, 'call-page-nat-tls.png'), png);
    await hangUp(a, b, log);
  });
});

test('/call without "relay only" uses a direct pair and says so', { timeout: 120_000 }, async () => {
  await trusted('call-direct', async (context) => {
    const log = [];
    const [a, b] = await openCall(context, `${WEB}/call?room=nat-direct-${process.pid}`, log);
    const [sa, sb] = await waitForMedia(a, b, (s) => Boolean(s.localType) && s.framesDecoded > 30, log);
    console.log(`direct: A ${JSON.stringify(sa)}\ndirect: B ${JSON.stringify(sb)}`);
    // Both tabs are in the client namespace: the pair joins their host candidates.
    for (const s of [sa, sb]) {
      assert.notEqual(s.localType, 'relay', JSON.stringify(s));
      assert.equal(s.relayProtocol, '', JSON.stringify(s));
    }
    assert.match(await a.textContent('#s-local'), /^(host|srflx|prflx) /);
    assert.equal(await a.textContent('#s-relay'), '(not relayed here)');
    await hangUp(a, b, log);
  });
});

test('a browser that does not trust the certificate does not get the page', { timeout: 60_000 }, async () => {
  const { home, env } = browserHome('untrusted', CERT, false);
  try {
    await withChromium(async (context) => {
      const page = await context.newPage();
      await assert.rejects(page.goto(`${WEB}/ice`), /ERR_CERT_AUTHORITY_INVALID/);
    }, { host: HOST, env });
  } finally {
    fs.rmSync(home, { recursive: true, force: true });
  }
});
