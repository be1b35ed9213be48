// Driving the web listener's pages (/call, /ice) in headless Chromium, shared by
// call.test.mjs (loopback) and web_nat.test.mjs (behind a NAT in network namespaces).
//
//   withChromium(fn, { host, env })   a fresh persistent context with fake camera and
//                                     microphone, kept on the box (chromiumArgs(host))
//   openCall(context, url, log)       two tabs of /call in one room: the first waits, then
//                                     the second joins; returns [a, b]
//   waitForMedia(a, b, done, log)     both tabs' window.callStats satisfy done(stats)
//   videoRegions(context, page)       screenshot + luma mean/variance of #local and #remote
//   hangUp(a, b, log)                 a hangs up and b is told
//   runIce(context, url, log)         /ice's window.iceResult once it is done
//   until(what, fn, ms, log)          polls fn() until it returns { ok: true, ... }
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { CHROMIUM, chromiumArgs } from './webrtc_page.mjs';

export async function withChromium(fn, { host = '127.0.0.1', env = undefined } = {}) {
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'turnd-chromium-web-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    env,
    args: [...chromiumArgs(host), '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream',
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

export async function openPage(context, url, log) {
  const page = await context.newPage();
  page.on('pageerror', (e) => log.push(`pageerror ${e}`));
  page.on('console', (m) => log.push(`console.${m.type()} ${m.text()}`));
  await page.goto(url);
  return page;
}

export async function until(what, fn, timeoutMs, log) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    last = await fn();
    if (last.ok) return last;
    await new Promise((r) => setTimeout(r, 250));
  }
  assert.fail(`timed out after ${timeoutMs} ms waiting for ${what}; last ${JSON.stringify(last)}\n${log.join('\n')}`);
}

export async function openCall(context, url, log) {
  const a = await openPage(context, url, log);
  await until('the first page to wait in the room', async () => ({
    ok: (await a.textContent('#status')).includes('waiting'), status: await a.textContent('#status'),
  }), 20_000, log);
  const b = await openPage(context, url, log);
  return [a, b];
}

export async function waitForMedia(a, b, done, log, timeoutMs = 60_000) {
  const stats = async (p) => p.evaluate(() => window.callStats);
  const r = await until('both sides to decode video and receive audio', async () => {
    const both = [await stats(a), await stats(b)];
    return { ok: both.every((s) => s && done(s)), 0: both[0], 1: both[1] };
  }, timeoutMs, log);
  return [r[0], r[1]];
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

// A screenshot of a /call page and the luma statistics of its two video elements; a blank
// (black or single-colour) element has variance 0.
export async function videoRegions(context, page) {
  await page.bringToFront();
  const png = await page.screenshot({ fullPage: true });
  const rects = [await page.locator('#local').boundingBox(), await page.locator('#remote').boundingBox()];
  return { png, regions: await regionStats(context, png, rects) };
}

export function assertVideoVisible(regions, label) {
  for (const [i, r] of regions.entries())
    assert.ok(r.variance > 50, `${label}: video element ${i === 0 ? 'local' : 'remote'} looks blank: ${JSON.stringify(r)}`);
}

export async function hangUp(a, b, log) {
  await a.click('#hangup');
  await until('the other side to see the hang-up', async () => ({
    ok: (await b.textContent('#status')).includes('left'), status: await b.textContent('#status'),
  }), 10_000, log);
}

export async function runIce(context, url, log) {
  const page = await openPage(context, url, log);
  const { result } = await until('/ice to finish', async () => {
    const r = await page.evaluate(() => window.iceResult);
    return { ok: Boolean(r && r.done), result: r };
  }, 40_000, log);
  // Every row has a verdict on the page.
  assert.equal(await page.locator('#rows tr').count(), result.rows.length);
  return { page, result };
}
