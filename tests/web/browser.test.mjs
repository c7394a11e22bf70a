// The page in a real Chromium with WebGPU (SwiftShader's Vulkan here and in CI), served by
// `wgvae serve` on 127.0.0.1: a noisy photo restored in the browser as `wgvae restore` restores
// it, a mask painted with the mouse and inpainted with every other pixel kept, an enhance
// slider moved, the page without WebGPU restoring on the server's GPU instead, and no request
// leaving 127.0.0.1. Run by tools/test-web.sh (node --test), which builds what it needs.
//
// WGVAE_BIN names the command line (with the browser build embedded); the tolerances between
// the browser's kernels and the command's are those BENCHMARKS.md records.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const bin = process.env.WGVAE_BIN || join(root, 'target', 'release', 'wgvae');
const work = mkdtempSync(join(tmpdir(), 'wgvae-web-'));
const photo = join(here, 'photo.png');

// The browser's WebGPU (SwiftShader) and the command's Vulkan (lavapipe) run the same WGSL with
// other compilers, so sums may round differently. Measured on this test's photos
// (BENCHMARKS.md): no 8-bit sample apart. The bound leaves room for one level where a value
// sits on a rounding edge, and no more.
const MAX_LEVELS = 1;
const MEAN_LEVELS = 0.02;

let server;
let base;
let browser;

function wgvae(...args) {
  return execFileSync(bin, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, WGVAE_NO_AUTOTUNE: '1' } });
}

before(async () => {
  server = spawn(bin, ['serve', '--host', '127.0.0.1', '--port', '0'], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, WGVAE_NO_AUTOTUNE: '1' },
  });
  base = await new Promise((resolve, reject) => {
    let out = '';
    server.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/serving (http:\/\/127\.0\.0\.1:\d+\/)/);
      if (m) resolve(m[1]);
    });
    server.on('exit', (code) => reject(new Error(`wgvae serve exited with ${code}`)));
  });
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: [
      '--headless=new',
      '--no-sandbox',
      '--enable-unsafe-webgpu',
      '--enable-features=Vulkan',
      '--use-angle=swiftshader',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-quic',
    ],
  });
});

after(async () => {
  await browser?.close();
  server?.kill('SIGINT');
  rmSync(work, { recursive: true, force: true });
});

/** A page of the server, recording every request it makes and every console error. */
async function openPage({ webgpu = true } = {}) {
  const context = await browser.newContext({ viewport: { width: 1200, height: 860 } });
  if (!webgpu) await context.addInitScript(() => delete Object.getPrototypeOf(navigator).gpu);
  const page = await context.newPage();
  const requests = [];
  page.on('request', (r) => requests.push(r.url()));
  page.on('console', (m) => m.type() === 'error' && console.log('page console:', m.text()));
  page.on('pageerror', (e) => console.log('page error:', e.message));
  await page.goto(base);
  await pageStarted(page);
  return { page, context, requests };
}

/** Waits until the page has found its GPU, or said it has none. */
async function pageStarted(page) {
  await page.waitForFunction(() => document.getElementById('gpu').textContent !== 'Looking for a GPU...', null, { timeout: 120_000 });
}

/** Sets a range or checkbox as a user would, with the events the page listens to. */
async function set(page, selector, value) {
  await page.$eval(
    selector,
    (el, v) => {
      if (el.type === 'checkbox') el.checked = v;
      else el.value = v;
      el.dispatchEvent(new Event('input', { bubbles: true }));
    },
    value,
  );
}

/** Clicks Restore and waits for the page to finish; returns the status line. */
async function restore(page) {
  await page.click('#restore');
  await page.waitForFunction(() => document.body.dataset.busy === '', null, { timeout: 600_000 });
  return page.textContent('#status');
}

/** A canvas's RGBA bytes. */
async function pixels(page, id) {
  return Buffer.from(
    await page.$eval(`#${id}`, (c) => Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data)),
  );
}

/** A PNG file's RGBA bytes, decoded by the page's browser as the page decodes a photo. */
async function decode(page, file) {
  const b64 = readFileSync(file).toString('base64');
  return Buffer.from(
    await page.evaluate(async (b64) => {
      const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      const bitmap = await createImageBitmap(new Blob([bytes]), { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
      const ctx = new OffscreenCanvas(bitmap.width, bitmap.height).getContext('2d');
      ctx.drawImage(bitmap, 0, 0);
      return Array.from(ctx.getImageData(0, 0, bitmap.width, bitmap.height).data);
    }, b64),
  );
}

/** The largest and the mean difference of the colour samples (alpha left out), in levels. */
function difference(a, b) {
  assert.equal(a.length, b.length);
  let max = 0;
  let sum = 0;
  let n = 0;
  for (let i = 0; i < a.length; i++) {
    if (i % 4 === 3) continue;
    const d = Math.abs(a[i] - b[i]);
    max = Math.max(max, d);
    sum += d;
    n++;
  }
  return { max, mean: sum / n };
}

function assertNothingLeft(requests) {
  const origin = new URL(base).origin;
  const away = requests.filter((u) => !u.startsWith(origin) && !u.startsWith('blob:') && !u.startsWith('data:'));
  assert.deepEqual(away, [], 'requests that left 127.0.0.1');
}

test('a noisy photo restores in the browser as wgvae restore restores it', { timeout: 600_000 }, async () => {
  const noisy = join(work, 'noisy.png');
  const cli = join(work, 'cli.png');
  wgvae('degrade', '-i', photo, '-o', noisy, '--noise-sigma', '0.1', '--seed', '7');
  wgvae('restore', '-i', noisy, '-o', cli, '--noise-sigma', '0.1');

  const { page, context, requests } = await openPage();
  assert.match(await page.textContent('#gpu'), /this machine's GPU/);
  const loaded = requests.length;
  await page.setInputFiles('#file', noisy);
  await set(page, '#noise-auto', false);
  await set(page, '#noise-sigma', '0.1');
  const status = await restore(page);
  assert.match(status, /restored in/);
  assert.equal(requests.length, loaded, `the restoration made requests: ${requests.slice(loaded)}`);

  const inBrowser = await pixels(page, 'after');
  const d = difference(inBrowser, await decode(page, cli));
  console.log(`browser vs wgvae restore: max ${d.max} levels, mean ${d.mean.toFixed(4)}`);
  assert.ok(d.max <= MAX_LEVELS && d.mean <= MEAN_LEVELS, JSON.stringify(d));
  const noisyPixels = await decode(page, noisy);
  assert.ok(difference(inBrowser, noisyPixels).mean > 5, 'the restored photo is the noisy one');

  await page.screenshot({ path: join(root, 'docs', 'web.png') });
  assertNothingLeft(requests);
  await context.close();
});

test('a mask painted with the mouse is inpainted and every other pixel kept', { timeout: 600_000 }, async () => {
  const { page, context, requests } = await openPage();
  await page.setInputFiles('#file', photo);
  await set(page, '#noise-on', false);
  await set(page, '#mask-on', true);
  await set(page, '#brush-size', '40');
  const box = await page.locator('#mask').boundingBox();
  await page.mouse.move(box.x + box.width * 0.2, box.y + box.height * 0.5);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width * 0.5, box.y + box.height * 0.45, { steps: 8 });
  await page.mouse.move(box.x + box.width * 0.8, box.y + box.height * 0.55, { steps: 8 });
  await page.mouse.up();
  const mask = await page.evaluate(() => {
    const c = document.getElementById('mask');
    const a = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    return Array.from({ length: c.width * c.height }, (_, i) => (a[4 * i + 3] >= 128 ? 1 : 0));
  });
  const painted = mask.reduce((s, m) => s + m, 0);
  assert.ok(painted > 100 && painted < mask.length / 2, `painted ${painted} of ${mask.length} pixels`);

  assert.match(await restore(page), /restored in/);
  const before = await pixels(page, 'before');
  const inBrowser = await pixels(page, 'after');
  let kept = 0;
  let filled = 0;
  for (let i = 0; i < mask.length; i++) {
    const same = [0, 1, 2, 3].every((k) => before[4 * i + k] === inBrowser[4 * i + k]);
    if (!mask[i]) kept += same;
    else filled += !same;
  }
  assert.equal(kept, mask.length - painted, 'unpainted pixels changed');
  assert.ok(filled > painted / 2, `only ${filled} of ${painted} painted pixels changed`);

  // the same mask through the command line: the same fill, within the kernels' tolerance
  const maskPng = join(work, 'mask.png');
  const maskB64 = await page.evaluate(async (mask) => {
    const c = document.getElementById('mask');
    const white = new ImageData(c.width, c.height);
    mask.forEach((m, i) => white.data.set(m ? [255, 255, 255, 255] : [0, 0, 0, 255], 4 * i));
    const canvas = new OffscreenCanvas(c.width, c.height);
    canvas.getContext('2d').putImageData(white, 0, 0);
    const bytes = new Uint8Array(await (await canvas.convertToBlob({ type: 'image/png' })).arrayBuffer());
    return btoa(String.fromCharCode(...bytes));
  }, mask);
  writeFileSync(maskPng, Buffer.from(maskB64, 'base64'));
  const cli = join(work, 'cli-inpainted.png');
  wgvae('restore', '-i', photo, '-o', cli, '--mask', maskPng);
  const d = difference(inBrowser, await decode(page, cli));
  console.log(`inpainting, browser vs wgvae restore --mask: max ${d.max} levels, mean ${d.mean.toFixed(4)}`);
  assert.ok(d.max <= MAX_LEVELS && d.mean <= MEAN_LEVELS, JSON.stringify(d));
  assertNothingLeft(requests);
  await context.close();
});

test('an enhance slider changes the picture live, as wgvae enhance does, offline too', { timeout: 300_000 }, async () => {
  const { page, context, requests } = await openPage();
  await page.setInputFiles('#file', photo);
  await set(page, '#contrast', '1.5');
  await page.waitForFunction(() => !document.getElementById('after').hidden, null, { timeout: 120_000 });
  // the page runs one enhancement at a time; wait for the last
  await page.waitForFunction(() => document.getElementById('download').hidden === false, null, { timeout: 120_000 });
  const cli = join(work, 'cli-contrast.png');
  wgvae('enhance', '-i', photo, '-o', cli, '--contrast', '1.5');
  const d = difference(await pixels(page, 'after'), await decode(page, cli));
  console.log(`contrast 1.5, browser vs wgvae enhance: max ${d.max} levels, mean ${d.mean.toFixed(4)}`);
  assert.ok(d.max <= 1, JSON.stringify(d));
  assert.ok(difference(await pixels(page, 'after'), await pixels(page, 'before')).mean > 3, 'nothing changed');

  // offline, the page reloads from its service worker's cache and still enhances on the GPU
  await page.evaluate(() => navigator.serviceWorker.ready);
  await context.setOffline(true);
  await page.reload();
  await pageStarted(page);
  assert.match(await page.textContent('#gpu'), /this machine's GPU/);
  await page.setInputFiles('#file', photo);
  await set(page, '#gamma', '2');
  await page.waitForFunction(() => document.getElementById('download').hidden === false, null, { timeout: 120_000 });
  assert.ok(difference(await pixels(page, 'after'), await pixels(page, 'before')).mean > 3, 'offline, nothing changed');
  assertNothingLeft(requests);
  await context.close();
});

test('without WebGPU the page says what to enable and restores on the server', { timeout: 300_000 }, async () => {
  const { page, context, requests } = await openPage({ webgpu: false });
  assert.ok(await page.isVisible('#no-webgpu'));
  assert.match(await page.textContent('#no-webgpu'), /enable-unsafe-webgpu/);
  const noisy = join(work, 'noisy-server.png');
  const cli = join(work, 'cli-server.png');
  wgvae('degrade', '-i', photo, '-o', noisy, '--noise-sigma', '0.05', '--seed', '3');
  wgvae('restore', '-i', noisy, '-o', cli, '--noise-sigma', '0.05');
  // nothing is sent before the user chooses the server: not by the keyboard's Ctrl+Enter either
  await page.setInputFiles('#file', noisy);
  await page.keyboard.press('Control+Enter');
  await page.waitForTimeout(500);
  assert.ok(!requests.some((u) => u.includes('/api/restore')), 'the photo was sent unasked');
  await page.click('#use-server');
  // with nothing to undo the page says so instead of guessing
  await set(page, '#noise-on', false);
  await page.click('#restore');
  assert.match(await page.textContent('#status'), /choose what to undo/);
  await set(page, '#noise-on', true);
  await set(page, '#noise-auto', false);
  await set(page, '#noise-sigma', '0.05');
  assert.match(await restore(page), /restored in/);
  // the server runs the command's own kernels on the same device: the same bytes
  const d = difference(await pixels(page, 'after'), await decode(page, cli));
  assert.equal(d.max, 0, JSON.stringify(d));
  assert.ok(requests.some((u) => u.endsWith('/api/restore')));
  assertNothingLeft(requests);
  await context.close();
});

test('the JavaScript API refuses bad input with the command line\'s messages', { timeout: 300_000 }, async () => {
  const { page, context } = await openPage();
  const errors = await page.evaluate(async () => {
    const wasm = await import('./pkg/wgvae_web.js');
    await wasm.default();
    const refusal = async (f) => {
      try {
        await f();
        return 'no error';
      } catch (e) {
        return e.message;
      }
    };
    const rgba = new Uint8ClampedArray(16 * 16 * 4).fill(200);
    const r = await wasm.Restorer.load('photo-grey');
    return {
      model: await refusal(() => wasm.Restorer.load('photo-sepia')),
      checkpoint: await refusal(() => wasm.Restorer.fromBytes(new Uint8Array([1, 2, 3]), 'mine.safetensors')),
      size: await refusal(() => r.restore(rgba.subarray(4), 16, 16, {})),
      mask: await refusal(() => r.restore(rgba, 16, 16, { mask: new Uint8Array(10) })),
      sigma: await refusal(() => r.restore(rgba, 16, 16, { noiseSigma: -0.1 })),
      two: await refusal(() => r.restore(rgba, 16, 16, { method: 'magic' })),
      gamma: await refusal(() => wasm.enhance(rgba, 16, 16, { gamma: 0 })),
      suggested: wasm.suggestModel(rgba, 16, 16),
      info: [r.model, r.windowSize, r.channels],
    };
  });
  assert.match(errors.model, /no built-in model is called "photo-sepia"; built in: digits, photo-grey, photo-rgb/);
  assert.match(errors.checkpoint, /mine\.safetensors/);
  assert.match(errors.size, /1020 bytes for a 16x16 RGBA image, which has 1024/);
  assert.match(errors.mask, /the mask has 10 pixels, the 16x16 picture 256/);
  assert.match(errors.sigma, /noiseSigma must be positive and finite \(or auto\)/);
  assert.match(errors.two, /method "magic": one of posterior, map, impute, project/);
  assert.match(errors.gamma, /gamma/);
  assert.equal(errors.suggested.name, 'digits');
  assert.deepEqual(errors.info, ['built-in models/photo-grey.safetensors', 12, 1]);
  await context.close();
});
