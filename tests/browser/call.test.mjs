// The web listener's pages in headless Chromium (web_stack.py starts turnd with
// --web-listen 127.0.0.1:PORT --web-demo true and gives WEB_URL):
//  - /call?room=R&relay=1&transport=T opened twice (two tabs, fake camera and
//    microphone): both sides decode video frames and receive audio over a
//    relay/relay pair whose relayProtocol is T, for T = udp and tcp
//    (BROWSER_TURN_TRANSPORT picks one); then a screenshot of the page whose
//    two <video> regions must not be blank (pixel variance of each region);
//  - /ice: gathers against every URI of /credentials and finds a relay
//    candidate for each turn: URI and an answer from the stun: URI (with the
//    udp run; no srflx candidate on loopback, see the test; web_nat.test.mjs
//    shows srflx behind a NAT).
// Chromium stays on the box (webrtc_page.mjs chromiumArgs). The screenshot is
// written to TURN_TEST_LOGDIR (and to docs/call-page.png with
// UPDATE_DOC_SCREENSHOT=1).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import {
  assertVideoVisible, hangUp, openCall, runIce, videoRegions, waitForMedia, withChromium,
} from './web_pages.mjs';

const WEB = process.env.WEB_URL;
const TRANSPORTS = process.env.BROWSER_TURN_TRANSPORT ? [process.env.BROWSER_TURN_TRANSPORT] : ['udp', 'tcp'];
const LOGDIR = process.env.TURN_TEST_LOGDIR || os.tmpdir();
const HERE = path.dirname(new URL(import.meta.url).pathname);

for (const transport of TRANSPORTS) {
  test(`/call relays video and audio over TURN/${transport}, relay to relay`, { timeout: 150_000 }, async () => {
    assert.ok(WEB, 'WEB_URL is not set (run through web_stack.py)');
    await withChromium(async (context) => {
      const log = [];
      const room = `call-${transport}-${process.pid}`;
      const [a, b] = await openCall(context, `${WEB}/call?room=${room}&relay=1&transport=${transport}`, log);
      const [sa, sb] = await waitForMedia(a, b, (s) => s.localType === 'relay' && s.remoteType === 'relay' &&
        s.framesDecoded > 30 && s.audioPacketsReceived > 50, log);
      for (const s of [sa, sb]) {
        assert.equal(s.relayProtocol, transport, JSON.stringify(s));
        assert.equal(s.connectionState, 'connected');
      }
      console.log(`${transport}: A ${JSON.stringify(sa)}\n${transport}: B ${JSON.stringify(sb)}`);
      // The panel shows it too.
      assert.match(await a.textContent('#s-local'), /^relay /);
      assert.equal(await a.textContent('#s-relay'), transport);

      const { png, regions } = await videoRegions(context, a);
      console.log(`${transport}: video regions ${JSON.stringify(regions)}`);
      assertVideoVisible(regions, transport);
      const shot = path.join(LOGDIR, `call-page-${transport}.png`);
      fs.mkdirSync(LOGDIR, { recursive: true });
      fs.writeFileSync(shot, png);
      if (process.env.UPDATE_DOC_SCREENSHOT === '1' && transport === 'udp')
        fs.copyFileSync(shot, path.join(HERE, '..', '..', 'docs', 'call-page.png'));

      // Hang up: the other side is told.
      await hangUp(a, b, log);
    });
  });
}

test('/ice finds a relay candidate for every turn: URI', { timeout: 90_000, skip: !TRANSPORTS.includes('udp') && 'run with udp' }, async () => {
  assert.ok(WEB, 'WEB_URL is not set (run through web_stack.py)');
  await withChromium(async (context) => {
    const log = [];
    const { result } = await runIce(context, `${WEB}/ice`, log);
    console.log(JSON.stringify(result, null, 1));
    assert.ok(!result.error, result.error);
    const turn = result.rows.filter((r) => r.url.startsWith('turn:'));
    assert.equal(turn.length, 2, JSON.stringify(result.rows.map((r) => r.url)));
    for (const r of turn) {
      assert.ok(r.ok, `${r.url}: ${r.verdict}`);
      const relay = r.candidates.find((c) => c.type === 'relay');
      assert.equal(relay.relayProtocol, r.transport, JSON.stringify(relay));
    }
    const stun = result.rows.filter((r) => r.url.startsWith('stun:'));
    assert.equal(stun.length, 1);
    // On loopback there is no NAT: the server sees the browser's own address, and Chromium
    // (mDNS off, a shared socket) drops a srflx candidate equal to a host candidate, so the
    // stun: row says so instead of listing one. Behind a NAT it lists the srflx candidate:
    // browser.web.nat (web_nat.test.mjs) proves that.
    const srflx = result.rows.flatMap((r) => r.candidates).filter((c) => c.type === 'srflx');
    console.log(`srflx candidates: ${srflx.length} (stun verdict: ${stun[0].verdict})`);
    assert.ok(stun[0].ok, `stun: ${stun[0].verdict}`);
    assert.ok(srflx.length > 0 || stun[0].noNat, JSON.stringify(stun[0]));
    assert.deepEqual(stun[0].errors, []);
  });
});
