// The web listener's pages in headless Chromium (web_stack.py starts turnd with
// --web-listen 127.0.0.1:PORT --web-demo true and gives WEB_URL):
//  - /call?room=R&relay=1&transport=T opened twice (two tabs, fake camera and
//    microphone): both sides decode video frames and receive audio over a
//    relay/relay pair whose relayProtocol is T, for T = udp and tcp
//    (BROWSER_TURN_TRANSPORT picks one); then a screenshot of the page whose
//    two <video> regions must not be blank (pixel variance of each region);
//  - /ice: gathers against every URI of /credentials and finds a relay
//    candidate for each turn: URI and an answer from the stun: URI (with the
//    udp run; no srflx candidate on loopback, see the test).
// Chromium stays on the box (webrtc_page.mjs chromiumArgs). The screenshot is
// written to TURN_TEST_LOGDIR (and to docs/call-page.png with
// UPDATE_DOC_SCREENSHOT=1).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { chromium } from 'playwright-core';
import { CHROMIUM, chromiumArgs } from './webrtc_page.mjs';

const WEB = process.env.WEB_URL;
const HOST = '127.0.0.1';
const TRANSPORTS = process.env.BROWSER_TURN_TRANSPORT ? [process.env.BROWSER_TURN_TRANSPORT] : ['udp', 'tcp'];
const LOGDIR = process.env.TURN_TEST_LOGDIR || os.tmpdir();
const HERE = path.dirname(new URL(import.meta.url).pathname);

async function withChromium(fn) {
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'turnd-chromium-web-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: [...chromiumArgs(HOST), '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream',
      '--autoplay-policy=no-user-gesture-required', '--disable-background-timer-throttling',
      '--disable-renderer-backgrounding', '--disable-backgrounding-occluded-windows'],
    viewport: { width: 900, height: 700 },
    timeout: 60_000,
  });
  try {
    return await fn(context);
  } finally {
    await context.close().catch(() => {});
    fs.rmSync(userDataDir, { recursive: true, force: true });
  }
}

async function openPage(context, url, log) {
  const page = await context.newPage();
  page.on('pageerror', (e) => log.push(`pageerror ${e}`));
  page.on('console', (m) => log.push(`console.${m.type()} ${m.text()}`));
  await page.goto(url);
  return page;
}

async function until(what, fn, timeoutMs, log) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    last = await fn();
    if (last.ok) return last;
    await new Promise((r) => setTimeout(r, 250));
  }
  assert.fail(`timed out after ${timeoutMs} ms waiting for ${what}; last ${JSON.stringify(last)}\n${log.join('\n')}`);
}

// Mean and variance of the luma of each rect of a PNG, computed in a blank page
// (a canvas decodes the PNG; no CSP there).
async function regionStats(context, png, rects) {
  const page = await context.newPage();
  try {
    return await page.evaluate(async ({ dataUrl, rects }) => {
      const img = new Image();
      img.src = dataUrl;
      await img.decode();
      const canvas = document.createElement('canvas');
      canvas.width = img.width;
      canvas.height = img.height;
      const ctx = canvas.getContext('2d');
      ctx.drawImage(img, 0, 0);
      return rects.map((r) => {
        const d = ctx.getImageData(Math.round(r.x), Math.round(r.y), Math.round(r.width), Math.round(r.height)).data;
        let sum = 0, sum2 = 0;
        const n = d.length / 4;
        for (let i = 0; i < d.length; i += 4) {
          const y = 0.299 * d[i] + 0.587 * d[i + 1] + 0.114 * d[i + 2];
          sum += y;
          sum2 += y * y;
        }
        const mean = sum / n;
        return { mean, variance: sum2 / n - mean * mean };
      });
    }, { dataUrl: `data:image/png;base64,${png.toString('base64')}`, rects });
  } finally {
    await page.close();
  }
}

for (const transport of TRANSPORTS) {
  test(`/call relays video and audio over TURN/${transport}, relay to relay`, { timeout: 150_000 }, async () => {
    assert.ok(WEB, 'WEB_URL is not set (run through web_stack.py)');
    await withChromium(async (context) => {
      const log = [];
      const room = `call-${transport}-${process.pid}`;
      const url = `${WEB}/call?room=${room}&relay=1&transport=${transport}`;
      const a = await openPage(context, url, log);
      await until('the first page to wait in the room', async () => ({
        ok: (await a.textContent('#status')).includes('waiting'), status: await a.textContent('#status'),
      }), 20_000, log);
      const b = await openPage(context, url, log);
      const stats = async (p) => p.evaluate(() => window.callStats);
      const done = (s) => s && s.localType === 'relay' && s.remoteType === 'relay' &&
        s.framesDecoded > 30 && s.audioPacketsReceived > 50;
      const [sa, sb] = await until('both sides to decode video and receive audio over relay/relay', async () => {
        const both = [await stats(a), await stats(b)];
        return { ok: both.every(done), 0: both[0], 1: both[1] };
      }, 60_000, log).then((r) => [r[0], r[1]]);
      for (const s of [sa, sb]) {
        assert.equal(s.relayProtocol, transport, JSON.stringify(s));
        assert.equal(s.connectionState, 'connected');
      }
      console.log(`${transport}: A ${JSON.stringify(sa)}\n${transport}: B ${JSON.stringify(sb)}`);
      // The panel shows it too.
      assert.match(await a.textContent('#s-local'), /^relay /);
      assert.equal(await a.textContent('#s-relay'), transport);

      await a.bringToFront();
      const png = await a.screenshot({ fullPage: true });
      const rects = [await a.locator('#local').boundingBox(), await a.locator('#remote').boundingBox()];
      const regions = await regionStats(context, png, rects);
      console.log(`${transport}: video regions ${JSON.stringify(regions)}`);
      for (const [i, r] of regions.entries())
        assert.ok(r.variance > 50, `video element ${i === 0 ? 'local' : 'remote'} looks blank: ${JSON.stringify(r)}`);
      const shot = path.join(LOGDIR, `call-page-${transport}.png`);
      fs.mkdirSync(LOGDIR, { recursive: true });
      fs.writeFileSync(shot, png);
      if (process.env.UPDATE_DOC_SCREENSHOT === '1' && transport === 'udp')
        fs.copyFileSync(shot, path.join(HERE, '..', '..', 'docs', 'call-page.png'));

      // Hang up: the other side is told.
      await a.click('#hangup');
      await until('the other side to see the hang-up', async () => ({
        ok: (await b.textContent('#status')).includes('left'), status: await b.textContent('#status'),
      }), 10_000, log);
    });
  });
}

test('/ice finds a relay candidate for every turn: URI', { timeout: 90_000, skip: !TRANSPORTS.includes('udp') && 'run with udp' }, async () => {
  assert.ok(WEB, 'WEB_URL is not set (run through web_stack.py)');
  await withChromium(async (context) => {
    const log = [];
    const page = await openPage(context, `${WEB}/ice`, log);
    const { result } = await until('/ice to finish', async () => {
      const r = await page.evaluate(() => window.iceResult);
      return { ok: Boolean(r && r.done), result: r };
    }, 40_000, log);
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
    // Every row has a verdict on the page.
    assert.equal(await page.locator('#rows tr').count(), result.rows.length);
    // On loopback there is no NAT: the server sees the browser's own address, and Chromium
    // (mDNS off, a shared socket) drops a srflx candidate equal to a host candidate, so the
    // stun: row says so instead of listing one. Behind a NAT it lists the srflx candidate.
    const srflx = result.rows.flatMap((r) => r.candidates).filter((c) => c.type === 'srflx');
    console.log(`srflx candidates: ${srflx.length} (stun verdict: ${stun[0].verdict})`);
    assert.ok(stun[0].ok, `stun: ${stun[0].verdict}`);
    assert.ok(srflx.length > 0 || stun[0].noNat, JSON.stringify(stun[0]));
    assert.deepEqual(stun[0].errors, []);
  });
});
