// jdiffusion serve's page: plain JavaScript against the JSON API (no build step, no external files).
'use strict';

const $ = (id) => document.getElementById(id);
let models = [];
let current = null;   // {id, events} of the job the Cancel button cancels

async function api(path, options) {
  const r = await fetch(path, options);
  const body = r.headers.get('Content-Type')?.includes('json') ? await r.json() : await r.text();
  if (!r.ok) throw new Error(body.error ? body.error.message : ('HTTP ' + r.status));
  return body;
}

function option(select, value, text, selected) {
  const o = document.createElement('option');
  o.value = value;
  o.textContent = text;
  o.selected = !!selected;
  select.appendChild(o);
}

function model() {
  return models.find((m) => m.name === $('model').value);
}

/** Shows the controls the selected model takes. */
function modelChanged() {
  const m = model();
  $('class-row').hidden = m.kind !== 'class-conditional';
  $('guidance-row').hidden = m.kind === 'unconditional';
  $('prompt').disabled = !m.text_encoder;
  $('prompt').placeholder = m.text_encoder ? 'a prompt' : 'this model has no text encoder';
  $('prompt-row').hidden = m.kind === 'class-conditional' && !m.text_encoder;
  $('xattn-row').hidden = m.kind === 'unconditional';
  if (m.kind === 'unconditional') document.querySelector('input[value=xattn]').checked = false;
  $('class').innerHTML = '';
  if (m.classes) {
    option($('class'), 'all', 'all (image k: class k)', true);
    m.classes.forEach((c) => option($('class'), c, c));
  }
  $('scheduler').innerHTML = '';
  m.schedulers.forEach((s) => option($('scheduler'), s, s + (s === m.default_scheduler ? ' (model default)' : ''), s === m.default_scheduler));
  if (m.default_guidance) $('guidance').value = m.default_guidance;
  $('model-note').textContent = `${m.kind}, ${(m.parameters / 1e6).toFixed(2)} M parameters, ${m.sample_size}×${m.sample_size}`;
  methodsChanged();
}

function methodsChanged() {
  document.querySelectorAll('.params').forEach((p) => {
    p.hidden = !document.querySelector(`input[value="${p.dataset.method}"]`).checked;
  });
}

function num(id) {
  return Number($(id).value);
}

/** The request body for the form's settings; full = without acceleration. */
function body(full) {
  const m = model();
  const b = {model: m.name, steps: num('steps'), seed: num('seed'), scheduler: $('scheduler').value,
    num_images: num('num_images'), response_format: 'json'};
  if (m.kind !== 'unconditional') b.guidance = num('guidance');
  if (m.kind === 'class-conditional') b.class = $('class').value;
  if (m.text_encoder && $('prompt').value) b.prompt = $('prompt').value;
  const methods = [...document.querySelectorAll('input[name=method]:checked')].map((c) => c.value);
  if (!full && methods.length) {
    const a = {method: methods};
    if (methods.includes('adaptive')) Object.assign(a, {delta: num('delta'), max_skip: num('max_skip')});
    if (methods.includes('deepcache')) Object.assign(a, {interval: num('interval'), branch: num('branch')});
    if (methods.includes('mixed-res')) Object.assign(a, {beta: num('beta'), low_res_fraction: num('low_res_fraction')});
    b.accel = a;
  }
  return b;
}

function panel(id) {
  const p = $(id);
  return {root: p, img: p.querySelector('img'), strip: p.querySelector('.strip'),
    summary: p.querySelector('.summary'), policy: p.querySelector('.policy')};
}

function cellClass(action) {
  return 'cell ' + action.replace('low-res ', '') + (action.startsWith('low-res') ? ' lowres' : '');
}

function startStrip(p, steps) {
  p.strip.innerHTML = '';
  for (let i = 0; i < steps; i++) {
    const c = document.createElement('span');
    c.className = 'cell pending';
    p.strip.appendChild(c);
  }
}

/** Fills a panel from a finished job (the API's json result). */
function show(p, r) {
  const t = r.trace;
  p.img.src = 'data:image/png;base64,' + r.grid;
  p.img.dataset.width = r.width;
  // one small image comes at its own size (generate's PNG): shown enlarged by a whole factor, pixels kept sharp
  p.img.onload = () => {
    const w = p.img.naturalWidth;
    p.img.style.width = w < 128 ? (w * Math.ceil(128 / w)) + 'px' : '';
  };
  p.strip.innerHTML = '';
  t.steps.forEach((s) => {
    const c = document.createElement('span');
    c.className = cellClass(s.action);
    c.title = `step ${s.index + 1}: ${s.action}, ${(s.macs / 1e6).toFixed(1)} M MACs, ${s.ms.toFixed(1)} ms`;
    p.strip.appendChild(c);
  });
  const pct = (100 * t.macs / t.full_step_macs).toFixed(1);
  p.summary.textContent = `${t.unet_calls} full UNet calls, ${t.partial_calls} partial, ${t.skipped_steps} skipped · `
    + `${(t.macs / 1e9).toFixed(3)} GMACs (${pct}% of full-step, ${t.mac_speedup.toFixed(2)}×) · ${t.ms.toFixed(0)} ms · `
    + `batch of ${r.batch.images} image(s) from ${r.batch.requests} request(s)`;
  if (p.policy) p.policy.textContent = t.policy;
}

/** Submits one job and follows its events into panel p; resolves when it ended. */
async function run(b, p) {
  const accepted = await api('/v1/images', {method: 'POST',
    headers: {'Content-Type': 'application/json', 'Prefer': 'respond-async'}, body: JSON.stringify(b)});
  current = accepted;
  $('cancel').disabled = false;
  startStrip(p, b.steps);
  p.summary.textContent = 'queued…';
  return new Promise((resolve, reject) => {
    const es = new EventSource(accepted.events);
    const end = (f) => { es.close(); $('cancel').disabled = true; f(); };
    es.addEventListener('started', (e) => {
      const d = JSON.parse(e.data);
      p.summary.textContent = `running in a batch of ${d.batch_images} image(s)…`;
    });
    es.addEventListener('step', (e) => {
      const d = JSON.parse(e.data);
      const c = p.strip.children[d.step - 1];
      if (c) c.className = cellClass(d.action);
      p.summary.textContent = `step ${d.step}/${d.steps}: ${d.action}, ${d.ms} ms`;
    });
    es.addEventListener('done', (e) => end(() => { show(p, JSON.parse(e.data)); resolve(); }));
    es.addEventListener('cancelled', (e) => end(() => { p.summary.textContent = 'cancelled: ' + JSON.parse(e.data).reason; resolve(); }));
    es.addEventListener('failed', (e) => end(() => reject(new Error(JSON.parse(e.data).error.message))));
    es.onerror = () => { if (es.readyState === EventSource.CLOSED) end(() => reject(new Error('the event stream closed'))); };
  });
}

async function guarded(f) {
  $('error').textContent = '';
  $('generate').disabled = $('compare').disabled = true;
  try {
    await f();
  } catch (e) {
    $('error').textContent = e.message;
  } finally {
    $('generate').disabled = $('compare').disabled = false;
  }
}

async function init() {
  const list = await api('/v1/models');
  models = list.models;
  models.forEach((m) => option($('model'), m.name, m.name, m.default));
  $('model').addEventListener('change', modelChanged);
  document.querySelectorAll('input[name=method]').forEach((c) => c.addEventListener('change', methodsChanged));
  modelChanged();
  $('form').addEventListener('submit', (e) => {
    e.preventDefault();
    $('panel-full').hidden = true;
    guarded(() => run(body(false), panel('panel-main')));
  });
  $('compare').addEventListener('click', () => guarded(async () => {
    $('panel-full').hidden = false;
    await run(body(false), panel('panel-main'));
    await run(body(true), panel('panel-full'));
  }));
  $('cancel').addEventListener('click', () => {
    if (current) api('/v1/jobs/' + current.id, {method: 'DELETE'}).catch((e) => { $('error').textContent = e.message; });
  });
  const h = await api('/health').catch(() => ({status: 'not ready'}));
  $('health').textContent = `server ${h.status}`;
}

init().catch((e) => { $('error').textContent = 'cannot reach the server: ' + e.message; });
