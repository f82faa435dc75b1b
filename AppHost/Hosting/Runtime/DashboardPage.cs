namespace AiStreaming.AppHost.Hosting.Runtime;

/// <summary>The dashboard's single page: polls <c>/api/resources</c> and the selected replica's <c>/api/logs</c> every second.</summary>
internal static class DashboardPage
{
    public const string Html = """
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>AiStreaming AppHost</title>
<style>
  body { font: 14px system-ui, sans-serif; margin: 1.5rem; color: #222; }
  h1 { font-size: 1.3rem; } h2 { font-size: 1.05rem; margin-top: 1.5rem; }
  table { border-collapse: collapse; } th, td { padding: .25rem .8rem; text-align: left; border-bottom: 1px solid #ddd; }
  tbody tr.replica { cursor: pointer; } tbody tr.replica:hover { background: #f3f6fb; } tr.selected { background: #e3ecfa !important; }
  .Healthy { color: #137333; font-weight: 600; } .Running, .Starting, .Waiting, .Stopping { color: #b06000; }
  .Exited, .Killed, .FailedToStart { color: #c5221f; font-weight: 600; } .Stopped, .NotStarted { color: #666; }
  pre { background: #111; color: #ddd; padding: .8rem; height: 28rem; overflow: auto; font: 12px ui-monospace, monospace; white-space: pre-wrap; }
  .muted { color: #777; } .num { text-align: right; font-variant-numeric: tabular-nums; }
</style>
</head>
<body>
<h1>AiStreaming AppHost</h1>
<table>
  <thead><tr><th>Resource</th><th>Kind</th><th>Replica</th><th>State</th><th>PID</th><th>Endpoint</th><th class="num">Launches</th></tr></thead>
  <tbody id="resources"></tbody>
</table>
<h2>Output of <span id="selected">(click a replica)</span></h2>
<pre id="logs"></pre>
<h2>Telemetry received (OTLP/HTTP)</h2>
<table>
  <thead><tr><th>Replica</th><th>Signal</th><th class="num">Requests</th><th class="num">Bytes</th></tr></thead>
  <tbody id="telemetry"></tbody>
</table>
<p class="muted">Refreshes every second. Telemetry is counted, not decoded.</p>
<script>
// A replica can be preselected with #name/index (e.g. #api/0).
let selected = (() => { const m = /^#([^/]+)\/(\d+)$/.exec(location.hash); return m ? { name: m[1], index: +m[2], label: m[1] + '-' + m[2] } : null; })();
const cell = (tr, text, cls) => { const td = tr.insertCell(); td.textContent = text ?? ''; if (cls) td.className = cls; return td; };
async function refresh() {
  try {
    const data = await (await fetch('/api/resources')).json();
    const body = document.getElementById('resources'); body.replaceChildren();
    for (const r of data.resources) for (const p of r.replicas) {
      const tr = body.insertRow(); tr.className = 'replica' + (selected && selected.name === r.name && selected.index === p.index ? ' selected' : '');
      tr.onclick = () => { selected = { name: r.name, index: p.index, label: p.name }; history.replaceState(null, '', '#' + r.name + '/' + p.index); refresh(); };
      cell(tr, r.name); cell(tr, r.kind); cell(tr, p.index); cell(tr, p.state + (p.exitCode !== null && p.state !== 'Healthy' && p.state !== 'Running' ? ' (' + p.exitCode + ')' : ''), p.state);
      cell(tr, p.pid); cell(tr, p.endpoint); cell(tr, p.launches, 'num');
    }
    const tel = document.getElementById('telemetry'); tel.replaceChildren();
    for (const t of data.telemetry) { const tr = tel.insertRow(); cell(tr, t.source); cell(tr, t.signal); cell(tr, t.requests, 'num'); cell(tr, t.bytes.toLocaleString(), 'num'); }
    if (selected) {
      document.getElementById('selected').textContent = selected.label;
      const lines = await (await fetch('/api/logs/' + encodeURIComponent(selected.name) + '/' + selected.index)).json();
      const pre = document.getElementById('logs');
      const atBottom = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 5;
      pre.textContent = lines.join('\n');
      if (atBottom) pre.scrollTop = pre.scrollHeight;
    }
  } catch { /* the AppHost is stopping */ }
}
refresh(); setInterval(refresh, 1000);
</script>
</body>
</html>
""";
}
