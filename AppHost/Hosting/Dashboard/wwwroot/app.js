// AiStreaming AppHost dashboard: hash-routed views over /api/*, refreshed every 2 s. Text is always set with textContent.
'use strict';
const view = document.getElementById('view');
const palette = ['#5b3cc4', '#1a7f64', '#c2410c', '#0369a1', '#a21caf', '#4d7c0f', '#b91c1c', '#0f766e'];
const colors = new Map();
const colorOf = (source) => { if (!colors.has(source)) colors.set(source, palette[colors.size % palette.length]); return colors.get(source); };
const el = (tag, props = {}, ...children) => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === 'class') e.className = v; else if (k === 'text') e.textContent = v ?? ''; else if (k.startsWith('on')) e[k] = v;
    else if (v !== undefined && v !== null) e.setAttribute(k, v);
  }
  for (const c of children) if (c !== null && c !== undefined) e.append(c);
  return e;
};
const chip = (source) => el('span', { class: 'chip', style: `background:${colorOf(source)}`, text: source });
const api = async (path) => { const r = await fetch(path); if (r.status === 401) { location.href = '/login'; throw new Error('login'); } return r.ok ? r.json() : null; };
const time = (unixNano) => new Date(unixNano / 1e6).toLocaleTimeString([], { hour12: false }) + '.' + String(Math.floor(unixNano / 1e6) % 1000).padStart(3, '0');
const ms = (v) => v >= 1000 ? (v / 1000).toFixed(2) + ' s' : v >= 10 ? v.toFixed(0) + ' ms' : v.toFixed(2) + ' ms';
const table = (headers) => { const t = el('table'); const tr = t.createTHead().insertRow(); for (const h of headers) tr.append(el('th', { text: h })); t.createTBody(); return t; };
const select = (label, options, value, onchange) => el('label', {}, label + ' ',
  (() => { const s = el('select', { 'aria-label': label, onchange: (e) => onchange(e.target.value) }); for (const [v, t] of options) s.append(el('option', { value: v, text: t })); s.value = value; return s; })());

let route = { name: 'resources', args: [] }, timer = null, charts = [], gen = 0;
function parseRoute() {
  const [name, ...args] = (location.hash.slice(1) || 'resources').split('/').map(decodeURIComponent);
  route = { name, args, query: new URLSearchParams(location.hash.split('?')[1] || '') };
  for (const a of document.querySelectorAll('nav a')) a.classList.toggle('active', a.dataset.view === (name === 'trace' ? 'traces' : name.split('?')[0]));
}
async function render(first) {
  try {
    const name = route.name.split('?')[0];
    await (views[name] || views.resources)(first, gen);
    document.getElementById('status').textContent = 'updated ' + new Date().toLocaleTimeString([], { hour12: false });
  } catch (e) { if (e.message !== 'login') document.getElementById('status').textContent = 'AppHost not reachable'; }
}
function navigate() { gen++; parseRoute(); for (const c of charts) c.plot.destroy(); charts = []; view.replaceChildren(); render(true); clearInterval(timer); timer = setInterval(() => render(false), 2000); }
window.addEventListener('hashchange', navigate);

const views = {
  async resources(first, g) {
    const data = await api('/api/resources');
    if (g !== gen) return;
    const t = table(['Resource', 'Kind', 'Replica', 'State', 'Health', 'Restarts', 'PID', 'Endpoint', 'Since', '']);
    for (const r of data.resources) for (const p of r.replicas) {
      const tr = t.tBodies[0].insertRow();
      tr.append(el('td', {}, chip(p.name)), el('td', { text: r.kind }), el('td', { class: 'num', text: p.index }),
        el('td', { class: p.state, text: p.state + (p.exitCode !== null && !p.healthy && p.state !== 'Running' ? ` (exit ${p.exitCode})` : '') }),
        el('td', { text: p.healthy ? 'Healthy' : '—' }), el('td', { class: 'num', text: p.restarts }), el('td', { class: 'num', text: p.pid ?? '' }),
        el('td', { class: 'mono', text: p.endpoint }), el('td', { class: 'muted', text: p.since ? new Date(p.since).toLocaleTimeString([], { hour12: false }) : '' }),
        el('td', {}, el('a', { href: `#console/${r.name}/${p.index}`, text: 'console' })));
    }
    view.replaceChildren(el('h2', { text: 'Resources' }), t,
      el('p', { class: 'muted', text: 'Telemetry received from: ' + (data.telemetrySources.join(', ') || 'nothing yet') }));
  },

  async console(first, g) {
    const data = first || !view.querySelector('pre') ? await api('/api/resources') : null;
    if (g !== gen) return;
    const [name, index] = route.args.length === 2 ? route.args : [null, null];
    if (data) {
      const options = [['', '(choose a replica)']];
      for (const r of data.resources) for (const p of r.replicas) options.push([`${r.name}/${p.index}`, p.name]);
      view.replaceChildren(el('h2', { text: 'Console output' }),
        el('div', { class: 'filters' }, select('Replica', options, name ? `${name}/${index}` : '', (v) => { location.hash = 'console/' + v; })),
        el('pre', { class: 'console', 'aria-label': 'Console output' }));
    }
    if (!name) return;
    const lines = await api(`/api/console/${encodeURIComponent(name)}/${index}`) || [];
    if (g !== gen) return;
    const pre = view.querySelector('pre');
    const atBottom = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 5;
    pre.textContent = lines.join('\n');
    if (atBottom || first) pre.scrollTop = pre.scrollHeight;
  },

  async traces(first, g) {
    const source = route.query.get('source') || '';
    const [traces, resources] = await Promise.all([api('/api/traces?limit=200&source=' + encodeURIComponent(source)), api('/api/resources')]);
    if (g !== gen) return;
    const t = table(['Time', 'Name', 'Resources', 'Spans', 'Duration', '']);
    for (const tr of traces) {
      const row = t.tBodies[0].insertRow(); row.className = 'clickable'; row.onclick = () => { location.hash = 'trace/' + tr.traceId; };
      row.append(el('td', { class: 'muted', text: new Date(tr.startUnixMs).toLocaleTimeString([], { hour12: false }) }),
        el('td', { class: tr.error ? 'Error' : '' }, el('a', { href: '#trace/' + tr.traceId, text: tr.name })),
        el('td', {}, ...tr.sources.map(chip)), el('td', { class: 'num', text: tr.spans }), el('td', { class: 'num', text: ms(tr.durationMs) }),
        el('td', { class: 'mono muted', text: tr.traceId.slice(0, 8) }));
    }
    const sources = [['', 'all'], ...resources.telemetrySources.map((s) => [s, s])];
    view.replaceChildren(el('h2', { text: 'Traces' }),
      el('div', { class: 'filters' }, select('Resource', sources, source, (v) => { location.hash = 'traces?source=' + encodeURIComponent(v); })), t);
  },

  async trace(first, g) {
    const id = route.args[0];
    const spans = await api('/api/traces/' + encodeURIComponent(id));
    if (g !== gen) return;
    if (!spans) { view.replaceChildren(el('h2', { text: 'Trace ' + id + ' not found (yet)' })); return; }
    const selected = view.dataset.selected;
    const start = Math.min(...spans.map((s) => s.startUnixNano)), end = Math.max(...spans.map((s) => s.endUnixNano)), total = Math.max(1, end - start);
    const byId = new Map(spans.map((s) => [s.spanId, s])), children = new Map();
    for (const s of spans) { const p = s.parentSpanId && byId.has(s.parentSpanId) ? s.parentSpanId : ''; if (!children.has(p)) children.set(p, []); children.get(p).push(s); }
    const ordered = []; const walk = (p, depth) => { for (const s of children.get(p) || []) { ordered.push([s, depth]); walk(s.spanId, depth + 1); } }; walk('', 0);
    const t = table(['Span', 'Resource', 'Duration', 'Timeline']); t.classList.add('waterfall'); t.setAttribute('aria-label', 'Spans');
    for (const [s, depth] of ordered) {
      const row = t.tBodies[0].insertRow(); row.className = 'clickable' + (s.error ? ' error' : '');
      row.onclick = () => { view.dataset.selected = s.spanId; showSpan(s); };
      const bar = el('div', { class: 'span-bar', style: `left:${(s.startUnixNano - start) / total * 100}%;width:${Math.max(0.2, (s.endUnixNano - s.startUnixNano) / total * 100)}%;background:${colorOf(s.source)}` });
      row.append(el('td', { class: 'span-name', style: `padding-left:${0.6 + depth * 1.1}rem` }, el('span', { text: s.name }), el('span', { class: 'muted', text: ' ' + s.kind.toLowerCase() + summary(s) })),
        el('td', {}, chip(s.source)), el('td', { class: 'num', text: ms((s.endUnixNano - s.startUnixNano) / 1e6) }), el('td', { class: 'bar' }, bar));
    }
    const sources = [...new Set(spans.map((s) => s.source))];
    view.replaceChildren(el('h2', { text: `Trace ${id}` }),
      el('p', {}, ...sources.map(chip), el('span', { class: 'muted', text: ` ${spans.length} spans, ${ms(total / 1e6)} · ` }),
        el('a', { href: `#logs?traceId=${id}`, text: 'logs of this trace' })), t, el('div', { class: 'detail', id: 'span-detail', text: 'Click a span for its attributes, events and links.' }));
    const keep = selected && byId.get(selected); if (keep) showSpan(keep);
    function showSpan(s) {
      const dl = el('dl'); const add = (k, v) => dl.append(el('dt', { text: k }), el('dd', { text: v }));
      add('name', s.name); add('resource', s.source); add('scope', s.scope); add('span id', s.spanId); add('parent', s.parentSpanId || '—');
      add('start', time(s.startUnixNano)); add('duration', ms((s.endUnixNano - s.startUnixNano) / 1e6)); if (s.error) add('status', 'Error ' + (s.statusMessage || ''));
      for (const [k, v] of Object.entries(s.attributes)) add(k, v);
      for (const e of s.events) add('event', `${e.name} at +${ms((e.timeUnixNano - s.startUnixNano) / 1e6)}`);
      const d = document.getElementById('span-detail'); d.replaceChildren(el('strong', { text: s.name }), dl);
      for (const l of s.links) d.append(el('p', {}, 'Link: ', el('a', { href: '#trace/' + l.traceId, text: `trace ${l.traceId.slice(0, 8)} span ${l.spanId.slice(0, 8)}` })));
    }
  },

  async logs(first, g) {
    const q = route.query, source = q.get('source') || '', level = q.get('level') || '', traceId = q.get('traceId') || '';
    const [logs, resources] = await Promise.all([
      api(`/api/logs?limit=300&source=${encodeURIComponent(source)}&level=${level}&traceId=${encodeURIComponent(traceId)}`), api('/api/resources')]);
    if (g !== gen) return;
    const go = (k, v) => { const n = new URLSearchParams(q); if (v) n.set(k, v); else n.delete(k); location.hash = 'logs?' + n; };
    const t = table(['Time', 'Level', 'Resource', 'Category', 'Message', 'Trace']); t.setAttribute('aria-label', 'Log records');
    for (const l of logs) {
      const row = t.tBodies[0].insertRow();
      row.append(el('td', { class: 'muted mono', text: time(l.timeUnixNano) }), el('td', { class: 'level ' + l.level, text: l.level }), el('td', {}, chip(l.source)),
        el('td', { class: 'muted', text: l.category }), el('td', { text: l.message }),
        el('td', {}, l.traceId ? el('a', { href: '#trace/' + l.traceId, 'aria-label': 'View trace ' + l.traceId, class: 'mono', text: l.traceId.slice(0, 8) }) : null));
    }
    view.replaceChildren(el('h2', { text: 'Structured logs' }),
      el('div', { class: 'filters' },
        select('Resource', [['', 'all'], ...resources.telemetrySources.map((s) => [s, s])], source, (v) => go('source', v)),
        select('Minimum level', [['', 'all'], ...['Debug', 'Information', 'Warning', 'Error'].map((l) => [l, l])], level, (v) => go('level', v)),
        traceId ? el('span', {}, 'trace ' + traceId.slice(0, 8) + ' ', el('a', { href: '#logs', text: '(clear)' })) : null), t);
  },

  async metrics(first, g) {
    if (first) {
      view.append(el('h2', { text: 'Metrics' }), el('div', { class: 'charts' }));
      for (const c of chartDefs) {
        const fig = el('figure', { 'aria-label': c.title }, el('figcaption', {}, c.title + ' ', el('span', { class: 'muted', text: c.subtitle })), el('div', { class: 'plot' }));
        view.querySelector('.charts').append(fig); charts.push({ def: c, fig, plot: null, key: '' });
      }
    }
    const since = Date.now() / 1000 - 600;
    await Promise.all(charts.map(async (c) => {
      const data = await api('/api/metrics/' + encodeURIComponent(c.def.metric) + '?since=' + Math.floor(since * 1000));
      if (g !== gen) return;
      const series = [], tables = [];
      for (const [source, points] of Object.entries(data || {}).sort()) for (const f of c.def.fields) {
        // Histogram intervals without values are gaps, not zeros; gauges hold their value between exports.
        const histogram = f !== 'value';
        series.push({ label: `${source} ${f}`, stroke: colorOf(source), dash: f === 'p95' ? [6, 4] : undefined, spanGaps: !histogram, width: 1.5,
          points: { show: histogram, size: 5 } });
        tables.push([points.map((p) => p.timeUnixMs / 1000), points.map((p) => p[f === 'value' ? 'value' : f] === null ? null : p[f === 'value' ? 'value' : f] * c.def.scale)]);
      }
      const joined = tables.length ? uPlot.join(tables) : [[]];
      const count = joined.slice(1).reduce((n, ys) => n + ys.filter((y) => y !== null && y !== undefined).length, 0);
      c.fig.querySelector('figcaption .muted').textContent = `${c.def.subtitle} · ${count} ${count === 1 ? 'point' : 'points'}`;
      const key = series.map((s) => s.label).join('|');
      if (!c.plot || c.key !== key) {
        c.plot?.destroy(); c.key = key;
        c.plot = new uPlot({ width: Math.max(500, c.fig.clientWidth - 20), height: 220, series: [{}, ...series],
          scales: { x: { time: true } }, axes: [{}, { label: c.def.unit, size: 60 }], legend: { live: false } }, joined, c.fig.querySelector('.plot'));
      } else c.plot.setData(joined);
    }));
  },
};

// Histograms chart the p50/p95 of each export interval; up-down counters their value. Names follow the OpenTelemetry GenAI semantic conventions where they exist.
// What a client span did, in a few words: the SQL, the Redis command or the URL.
function summary(s) {
  const a = s.attributes, text = a['db.query.text'] || a['db.statement'] || a['url.full'] || a['db.redis.commands'] || '';
  return text ? ' · ' + (text.length > 70 ? text.slice(0, 70) + '…' : text) : '';
}

const chartDefs = [
  { title: 'Time to first token', subtitle: 'gen_ai.server.time_to_first_token, p50 / p95', metric: 'gen_ai.server.time_to_first_token', fields: ['p50', 'p95'], scale: 1000, unit: 'ms' },
  { title: 'Inter-token latency', subtitle: 'gen_ai.server.time_per_output_token, p50 / p95', metric: 'gen_ai.server.time_per_output_token', fields: ['p50', 'p95'], scale: 1000, unit: 'ms' },
  { title: 'Tokens per second', subtitle: 'aistreaming.generation.tokens_per_second, p50 per generation', metric: 'aistreaming.generation.tokens_per_second', fields: ['p50'], scale: 1, unit: 'tokens/s' },
  { title: 'Active generations', subtitle: 'aistreaming.generations.active, per Api replica', metric: 'aistreaming.generations.active', fields: ['value'], scale: 1, unit: 'generations' },
  { title: 'Connected clients', subtitle: 'aistreaming.streamer.connections (SignalR), per streamer replica', metric: 'aistreaming.streamer.connections', fields: ['value'], scale: 1, unit: 'clients' },
  { title: 'Subscriptions', subtitle: 'aistreaming.streamer.subscriptions (SignalR and SSE), per streamer replica', metric: 'aistreaming.streamer.subscriptions', fields: ['value'], scale: 1, unit: 'subscriptions' },
  { title: 'Delivery lag', subtitle: 'aistreaming.streamer.delivery.lag (publish → write), p50 / p95', metric: 'aistreaming.streamer.delivery.lag', fields: ['p50', 'p95'], scale: 1, unit: 'ms' },
];

navigate();
