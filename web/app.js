// The page: open a photo, say what to undo, restore it on this machine's GPU through WebGPU
// (the wasm build in pkg/, the same kernels as `wgvae restore`), compare before and after,
// enhance it live and download it. Where the browser has no WebGPU and the page came from
// `wgvae serve`, the same buttons can send the photo to that server's GPU instead.
// No framework: a few dozen elements and their events.

const $ = (id) => document.getElementById(id);
const stage = $('stage');

const state = {
  engine: null, // 'browser' or 'server'
  wasm: null, // the browser build's module
  restorers: new Map(), // built-in model name -> Restorer
  own: null, // { name, restorer } of the user's checkpoint
  serverModels: null, // GET api/models, when the page came from `wgvae serve`
  photo: null, // { data: ImageData, name }
  base: null, // ImageData: the restored photo, or null before a restoration
  busy: false,
  enhancing: false,
  enhanceAgain: false,
  maskPainted: false,
};

// ---- status lines ----

function say(id, text, error = false) {
  const el = $(id);
  el.textContent = text;
  el.toggleAttribute('data-error', error);
}

function setBusy(busy) {
  state.busy = busy;
  document.body.dataset.busy = busy ? '1' : '';
  $('restore').disabled = busy || !state.photo || !state.engine;
}

// ---- start: which GPU restores ----

async function start() {
  state.serverModels = await fetch('api/models')
    .then((r) => (r.ok ? r.json() : null))
    .catch(() => null);
  let why;
  let heading = 'This browser offers no WebGPU';
  try {
    if (!navigator.gpu) throw new Error('navigator.gpu is undefined: WebGPU is off or not supported here');
    let wasm;
    try {
      wasm = await import('./pkg/wgvae_web.js');
      await wasm.default();
    } catch (e) {
      heading = 'The page could not load its GPU code';
      throw new Error(`the browser build did not load (${e.message}); build it with tools/build-web.sh`);
    }
    await wasm.adapterName(); // opens the device, or says why not
    state.wasm = wasm;
    state.engine = 'browser';
    say('gpu', `Restoring on this machine's GPU: ${await adapterLabel(wasm)}.`);
    listModels(wasm.builtinModels(), true);
  } catch (e) {
    why = e.message;
  }
  if (!state.engine) {
    $('no-webgpu').hidden = false;
    $('no-webgpu-heading').textContent = heading;
    say('no-webgpu-why', why);
    say('gpu', 'No WebGPU in this browser.', true);
    if (state.serverModels) $('server-offer').hidden = false;
  }
  setBusy(false);
}

async function adapterLabel(wasm) {
  const adapter = await navigator.gpu.requestAdapter({ powerPreference: 'high-performance' });
  const info = adapter && adapter.info;
  const parts = info ? [info.description, info.vendor, info.architecture].filter((s) => s) : [];
  return parts.length ? parts.join(', ') : await wasm.adapterName();
}

function useServer() {
  state.engine = 'server';
  $('no-webgpu').hidden = true;
  $('where').textContent = "on the GPU of the machine running wgvae serve: the photo is sent to it";
  say('gpu', "Restoring on the server's GPU.");
  listModels(state.serverModels, false);
  setBusy(false);
  applyEnhance();
}

function listModels(models, own) {
  const select = $('model');
  select.length = 1;
  for (const m of models) {
    select.add(new Option(`${m.name} (${m.colour}, ${m.window}x${m.window} windows)`, m.name));
  }
  if (own) select.add(new Option('your own checkpoint...', 'own'));
}

// ---- opening a photo ----

async function openPhoto(blob, name) {
  let bitmap;
  try {
    bitmap = await createImageBitmap(blob, { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
  } catch {
    say('status', `${name}: not an image this browser can decode`, true);
    return;
  }
  const { width, height } = bitmap;
  for (const id of ['before', 'after', 'mask']) {
    $(id).width = width;
    $(id).height = height;
  }
  const ctx = $('before').getContext('2d', { willReadFrequently: true });
  ctx.drawImage(bitmap, 0, 0);
  state.photo = { data: ctx.getImageData(0, 0, width, height), name: name.replace(/\.[^.]*$/, '') };
  layout();
  state.base = null;
  state.maskPainted = false;
  $('drop-hint').hidden = true;
  stage.classList.add('loaded');
  hideAfter();
  say('status', `${name}: ${width}x${height}`);
  setBusy(state.busy);
  if (enhanceOptions()) applyEnhance();
}

/** Shows the photo as large as the view allows (small ones magnified, pixels kept square),
 * the restored picture and the mask exactly over it. */
function layout() {
  if (!state.photo) return;
  const { width, height } = state.photo.data;
  const room = stage.parentElement.clientWidth - 4;
  const scale = Math.min(room / width, (window.innerHeight * 0.8) / height, 8);
  const w = `${Math.max(1, Math.floor(width * scale))}px`;
  const h = `${Math.max(1, Math.floor(height * scale))}px`;
  $('split-label').style.width = w;
  for (const el of [$('before'), $('after'), $('mask')]) {
    el.style.width = w;
    el.style.height = h;
  }
}
window.addEventListener('resize', layout);

$('file').addEventListener('change', (e) => {
  const f = e.target.files[0];
  e.target.value = ''; // the same file chosen again is a new choice
  if (f) openPhoto(f, f.name);
});

stage.addEventListener('dragover', (e) => {
  e.preventDefault();
  stage.classList.add('dragging');
});
stage.addEventListener('dragleave', () => stage.classList.remove('dragging'));
stage.addEventListener('drop', (e) => {
  e.preventDefault();
  stage.classList.remove('dragging');
  const f = e.dataTransfer.files[0];
  if (f) openPhoto(f, f.name);
});
for (const kind of ['dragover', 'drop']) document.addEventListener(kind, (e) => e.preventDefault());
document.addEventListener('paste', (e) => {
  const item = [...e.clipboardData.items].find((i) => i.type.startsWith('image/'));
  if (item) openPhoto(item.getAsFile(), 'pasted.png');
});

// ---- what to undo ----

function syncDamage() {
  $('noise-auto').disabled = !$('noise-on').checked;
  $('noise-sigma').disabled = !$('noise-on').checked || $('noise-auto').checked;
  $('blur-sigma').disabled = !$('blur-on').checked;
  stage.classList.toggle('painting', $('mask-on').checked);
  $('mask').hidden = !$('mask-on').checked;
  $('noise-sigma-value').value = Number($('noise-sigma').value).toFixed(3);
  $('brush-size-value').value = $('brush-size').value;
}
for (const id of ['noise-on', 'noise-auto', 'noise-sigma', 'mask-on', 'blur-on', 'brush-size']) {
  $(id).addEventListener('input', syncDamage);
}

// the mask: painted with the pointer on a canvas over the photo (its alpha is the mask)
const mask = $('mask');
const maskCtx = mask.getContext('2d', { willReadFrequently: true });
let stroke = null;

function pointOf(e) {
  const r = mask.getBoundingClientRect();
  return [((e.clientX - r.left) * mask.width) / r.width, ((e.clientY - r.top) * mask.height) / r.height];
}

function paint(from, to) {
  const r = mask.getBoundingClientRect();
  maskCtx.globalCompositeOperation = $('tool-eraser').checked ? 'destination-out' : 'source-over';
  maskCtx.strokeStyle = '#ff0040';
  maskCtx.lineCap = 'round';
  maskCtx.lineJoin = 'round';
  maskCtx.lineWidth = (Number($('brush-size').value) * mask.width) / r.width;
  maskCtx.beginPath();
  maskCtx.moveTo(...from);
  maskCtx.lineTo(...to);
  maskCtx.stroke();
  state.maskPainted = true;
}

mask.addEventListener('pointerdown', (e) => {
  if (!state.photo || !$('mask-on').checked) return;
  mask.setPointerCapture(e.pointerId);
  stroke = pointOf(e);
  paint(stroke, stroke);
});
mask.addEventListener('pointermove', (e) => {
  if (!stroke) return;
  const p = pointOf(e);
  paint(stroke, p);
  stroke = p;
});
for (const end of ['pointerup', 'pointercancel']) mask.addEventListener(end, () => (stroke = null));

$('mask-clear').addEventListener('click', () => {
  maskCtx.clearRect(0, 0, mask.width, mask.height);
  state.maskPainted = false;
});

$('mask-file').addEventListener('change', async (e) => {
  const f = e.target.files[0];
  e.target.value = '';
  if (!f || !state.photo) return;
  const bitmap = await createImageBitmap(f).catch(() => null);
  const { width, height } = state.photo.data;
  if (!bitmap) return say('status', `${f.name}: not an image this browser can decode`, true);
  if (bitmap.width !== width || bitmap.height !== height) {
    return say('status', `the mask ${f.name} is ${bitmap.width}x${bitmap.height}, the photo ${width}x${height}`, true);
  }
  const scratch = new OffscreenCanvas(width, height).getContext('2d');
  scratch.drawImage(bitmap, 0, 0);
  const src = scratch.getImageData(0, 0, width, height).data;
  const painted = maskCtx.createImageData(width, height);
  for (let i = 0; i < width * height; i++) {
    const luma = 0.299 * src[4 * i] + 0.587 * src[4 * i + 1] + 0.114 * src[4 * i + 2];
    if (luma >= 128) painted.data.set([255, 0, 64, 255], 4 * i);
  }
  maskCtx.putImageData(painted, 0, 0);
  state.maskPainted = true;
  $('mask-on').checked = true;
  syncDamage();
});

/** One byte per pixel, 1 where the mask is painted. */
function maskBytes() {
  const { width, height } = state.photo.data;
  const alpha = maskCtx.getImageData(0, 0, width, height).data;
  const out = new Uint8Array(width * height);
  for (let i = 0; i < out.length; i++) out[i] = alpha[4 * i + 3] >= 128 ? 1 : 0;
  return out;
}

// ---- restoring ----

/** The damage as the API takes it, or null (with the reason shown) when it says nothing. */
function damageOptions() {
  const opts = {};
  if ($('noise-on').checked) opts.noiseSigma = $('noise-auto').checked ? 'auto' : Number($('noise-sigma').value);
  if ($('mask-on').checked) {
    if (!state.maskPainted) {
      say('status', 'paint over what is missing first (or untick "Missing regions")', true);
      return null;
    }
    opts.mask = maskBytes();
  }
  if ($('blur-on').checked) opts.blurSigma = Number($('blur-sigma').value);
  if (!Object.keys(opts).length) {
    say('status', 'choose what to undo: noise, missing regions or blur', true);
    return null;
  }
  return opts;
}

async function restorerFor(choice) {
  const { wasm } = state;
  if (choice === 'own') {
    if (!state.own) throw new Error('choose your checkpoint (.safetensors) first');
    return state.own.restorer;
  }
  if (!state.restorers.has(choice)) state.restorers.set(choice, await wasm.Restorer.load(choice));
  return state.restorers.get(choice);
}

$('model').addEventListener('change', () => {
  $('own-model-label').hidden = $('model').value !== 'own';
});
$('own-model').addEventListener('change', async (e) => {
  const f = e.target.files[0];
  e.target.value = '';
  if (!f) return;
  try {
    const restorer = await state.wasm.Restorer.fromBytes(new Uint8Array(await f.arrayBuffer()), f.name);
    state.own = { name: f.name, restorer };
    say('status', `${f.name}: ${restorer.windowSize}x${restorer.windowSize} windows, ${restorer.channels} channel(s)`);
  } catch (err) {
    state.own = null;
    say('status', err.message, true);
  }
});

async function restore() {
  if (!state.photo || state.busy || !state.engine) return;
  const opts = damageOptions();
  if (!opts) return;
  setBusy(true);
  const progress = $('progress');
  progress.hidden = false;
  progress.removeAttribute('value');
  const photo = state.photo;
  const { data, name } = photo;
  const started = performance.now();
  try {
    let choice = $('model').value;
    let out;
    if (state.engine === 'browser') {
      if (choice === 'auto') {
        const suggested = state.wasm.suggestModel(data.data, data.width, data.height);
        choice = suggested.name;
        say('status', `model ${choice} (${suggested.reason})`);
      }
      const restorer = await restorerFor(choice);
      opts.onProgress = (done, total) => {
        progress.max = Math.max(total, 1);
        progress.value = done;
      };
      out = new ImageData(await restorer.restore(data.data, data.width, data.height, opts), data.width, data.height);
    } else {
      out = await restoreOnServer(data, opts, choice);
    }
    if (state.photo !== photo) return; // another photo was opened meanwhile
    state.base = out;
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    say('status', `${name}: restored in ${seconds} s`);
  } catch (e) {
    if (state.photo === photo) say('status', e.message, true);
  } finally {
    progress.hidden = true;
    setBusy(false);
  }
  // the enhancement of the result, and any slider moved while the restoration ran
  await applyEnhance();
}
$('restore').addEventListener('click', restore);

// ---- the server's GPU ----

async function pngOf(imageData) {
  const canvas = new OffscreenCanvas(imageData.width, imageData.height);
  canvas.getContext('2d').putImageData(imageData, 0, 0);
  return canvas.convertToBlob({ type: 'image/png' });
}

async function post(path, fields) {
  const form = new FormData();
  for (const [k, v] of Object.entries(fields)) form.append(k, v);
  const reply = await fetch(path, { method: 'POST', body: form });
  if (!reply.ok) {
    const body = await reply.json().catch(() => ({ error: reply.statusText }));
    throw new Error(`the server answered ${reply.status}: ${body.error}`);
  }
  const bitmap = await createImageBitmap(await reply.blob(), { colorSpaceConversion: 'none' });
  const ctx = new OffscreenCanvas(bitmap.width, bitmap.height).getContext('2d');
  ctx.drawImage(bitmap, 0, 0);
  return ctx.getImageData(0, 0, bitmap.width, bitmap.height);
}

async function restoreOnServer(data, opts, choice) {
  const fields = { image: await pngOf(data) };
  if (opts.noiseSigma !== undefined) fields.noise_sigma = String(opts.noiseSigma);
  if (opts.blurSigma !== undefined) fields.blur_sigma = String(opts.blurSigma);
  if (choice !== 'auto') fields.model = choice;
  if (opts.mask) {
    const white = new ImageData(data.width, data.height);
    opts.mask.forEach((m, i) => white.data.set(m ? [255, 255, 255, 255] : [0, 0, 0, 255], 4 * i));
    fields.mask = await pngOf(white);
  }
  return post('api/restore', fields);
}

// ---- enhancing, live ----

const SLIDERS = ['brightness', 'contrast', 'saturation', 'gamma'];

function enhanceOptions() {
  const opts = {};
  for (const id of SLIDERS) {
    const v = Number($(id).value);
    if (v !== 1) opts[id] = v;
  }
  if ($('auto-levels').checked) opts.autoLevels = true;
  return Object.keys(opts).length ? opts : null;
}

/** The after picture: the restored photo (or the photo) enhanced; one GPU run at a time, the
 * latest slider values run next. */
async function applyEnhance() {
  if (!state.photo || !state.engine) return;
  // one GPU job at a time: a restoration's faults must not be reported by an enhancement
  if (state.enhancing || state.busy) {
    state.enhanceAgain = true;
    return;
  }
  state.enhancing = true;
  try {
    do {
      state.enhanceAgain = false;
      const photo = state.photo;
      const src = state.base || photo.data;
      const opts = enhanceOptions();
      let out = src;
      if (opts && state.engine === 'browser') {
        out = new ImageData(await state.wasm.enhance(src.data, src.width, src.height, opts), src.width, src.height);
      } else if (opts) {
        const fields = { image: await pngOf(src) };
        for (const [k, v] of Object.entries(opts)) fields[k === 'autoLevels' ? 'auto_levels' : k] = String(v);
        out = await post('api/enhance', fields);
      }
      if (state.photo !== photo) continue;
      if (!state.base && !opts) hideAfter();
      else showAfter(out);
    } while (state.enhanceAgain);
  } catch (e) {
    say('status', e.message, true);
  } finally {
    state.enhancing = false;
  }
}

for (const id of SLIDERS) {
  $(id).addEventListener('input', () => {
    $(id).nextElementSibling.value = Number($(id).value).toFixed(2);
    applyEnhance();
  });
}
$('auto-levels').addEventListener('input', applyEnhance);
$('enhance-reset').addEventListener('click', () => {
  for (const id of SLIDERS) {
    $(id).value = 1;
    $(id).nextElementSibling.value = '1.00';
  }
  $('auto-levels').checked = false;
  applyEnhance();
});

// ---- before / after, download ----

function showAfter(imageData) {
  const after = $('after');
  after.getContext('2d').putImageData(imageData, 0, 0);
  after.hidden = false;
  if (!state.base) $('split-label').hidden = false;
  split();
  $('download').hidden = false;
}

/** Nothing to show beside the photo: neither a restoration nor an adjustment. */
function hideAfter() {
  for (const id of ['after', 'split-label', 'split-line', 'download']) $(id).hidden = true;
}

// the PNG is encoded when asked for, not at every slider tick
$('download').addEventListener('click', (e) => {
  e.preventDefault();
  $('after').toBlob((blob) => {
    const link = document.createElement('a');
    link.href = URL.createObjectURL(blob);
    link.download = `${state.photo.name}-restored.png`;
    link.click();
    setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
  }, 'image/png');
});

/** The after picture shows right of the split, the photo left of it. */
function split() {
  const at = $('split').value;
  $('after').style.clipPath = `inset(0 0 0 ${at}%)`;
  $('split-line').style.left = `${at}%`;
  $('split-line').hidden = $('after').hidden;
}
$('split').addEventListener('input', split);

// ---- keyboard ----

document.addEventListener('keydown', (e) => {
  const typing = e.target.matches('input[type=number], input[type=text], select');
  if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) return restore();
  if (typing || e.ctrlKey || e.metaKey || e.altKey || e.repeat || e.isComposing) return;
  const size = $('brush-size');
  const key = e.key.toLowerCase();
  if (key === 'b') $('tool-brush').checked = true;
  else if (key === 'e') $('tool-eraser').checked = true;
  else if (e.key === '[') size.value = Number(size.value) - 4;
  else if (e.key === ']') size.value = Number(size.value) + 4;
  else return;
  syncDamage();
});

$('use-server').addEventListener('click', useServer);
syncDamage();
start();
// the page's files kept for a reload without the network (sw.js); a page from a file:// URL or
// an insecure origin has no service worker, and works as long as it stays open
if ('serviceWorker' in navigator) navigator.serviceWorker.register('sw.js').catch(() => {});
