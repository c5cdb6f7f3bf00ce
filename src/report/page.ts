// The report page's inline style and script (no network, no libraries). The script does two things:
// reload the page while the run is in progress (body[data-live] = seconds; keeps the scroll position
// and the sample browser's choice), and drive the sample browser from the embedded JSON.

export const PAGE_CSS = `
:root { color-scheme: light; --fg: #1d2330; --muted: #5b6475; --line: #e3e6ec; --accent: #2f6fdf; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: #f6f7f9; }
header, main, footer { max-width: 1500px; margin: 0 auto; padding: 0 20px; }
header { padding-top: 18px; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 17px; margin: 0 0 4px; }
h3 { font-size: 14px; margin: 12px 0 4px; }
.sub, .hint { color: var(--muted); margin: 2px 0 10px; }
.hint { font-size: 12.5px; max-width: 110ch; }
section { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 14px 16px; margin: 14px 0; }
.grid { display: flex; flex-wrap: wrap; gap: 10px 18px; align-items: flex-start; }
figure.plot { margin: 0; }
figure.plot svg { display: block; max-width: 100%; height: auto; }
.nodata { color: var(--muted); font-style: italic; padding: 8px 0; }
figure.empty { min-width: 200px; }
table { border-collapse: collapse; font-size: 12.5px; margin: 4px 0 8px; }
th, td { border-bottom: 1px solid var(--line); padding: 3px 8px; text-align: right; white-space: nowrap; }
th { background: #f2f4f7; font-weight: 600; }
td:first-child, th:first-child { text-align: left; }
.tables { overflow-x: auto; max-width: 100%; }
.notes { background: #fff6e0; border: 1px solid #f0c36d; border-radius: 6px; padding: 8px 12px; margin: 8px 0; }
.notes ul { margin: 4px 0 0; padding-left: 18px; }
.stopped { background: #fde8e4; border: 1px solid #e7a397; border-radius: 6px; padding: 6px 10px; margin: 4px 0 8px; }
.stopped p { margin: 2px 0; }
.live { background: #e8f1ff; border: 1px solid #b7cff7; border-radius: 6px; padding: 6px 10px; display: inline-block; margin: 4px 0 8px; }
.controls { margin: 6px 0 10px; display: flex; gap: 14px; align-items: center; flex-wrap: wrap; }
select { font: inherit; padding: 2px 4px; }
.sample { border: 1px solid var(--line); border-left: 5px solid #c5cad3; border-radius: 6px; padding: 6px 10px; margin: 6px 0; }
.sample.selected { border-left-color: #2e9e5b; }
.sample .meta { font-size: 12px; color: var(--muted); display: flex; gap: 12px; flex-wrap: wrap; }
.sample pre { margin: 4px 0 0; white-space: pre-wrap; word-break: break-word; font: 12px/1.4 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
.badge { border-radius: 4px; padding: 0 5px; font-weight: 600; }
.ok { background: #dff3e6; color: #1d6b3c; } .bad { background: #fbe3e1; color: #9b2a1f; } .sel { background: #e3ecfd; color: #23498f; } .gold { background: #fff0c2; color: #7a5a00; }
.step { display: inline-block; min-width: 34px; text-align: center; border-radius: 3px; padding: 0 3px; margin-right: 3px; font-size: 11px; color: #111; }
.stepline { display: block; border-radius: 3px; padding: 0 3px; }
.stepmark { border-radius: 3px; padding: 0 2px; }
code { font: 12px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
footer { color: var(--muted); font-size: 12px; padding-bottom: 24px; }
`;

export const PAGE_SCRIPT = String.raw`
(function () {
  'use strict';
  var live = Number(document.body.getAttribute('data-live')) || 0;
  var KEY = 'bstar-report:' + location.pathname;
  var state = {};
  try { state = JSON.parse(sessionStorage.getItem(KEY) || '{}') || {}; } catch (e) { state = {}; }
  function save() { try { sessionStorage.setItem(KEY, JSON.stringify(state)); } catch (e) {} }
  if (typeof state.scroll === 'number') window.scrollTo(0, state.scroll);
  var stopBtn = document.getElementById('stop-refresh');
  if (live > 0 && !state.stopped) {
    setTimeout(function () { state.scroll = window.scrollY; save(); location.reload(); }, live * 1000);
  } else if (stopBtn) {
    stopBtn.textContent = 'reloading stopped (click to resume)';
  }
  if (stopBtn) stopBtn.addEventListener('click', function () { state.stopped = !state.stopped; save(); location.reload(); });
  // a killed run cannot rewrite its page: say so when the page is older than any phase took (×2)
  var written = Number(document.body.getAttribute('data-written')) || 0;
  var staleAfter = Number(document.body.getAttribute('data-stale-after')) || 0;
  var staleEl = document.getElementById('stale');
  if (live > 0 && staleEl && written > 0 && staleAfter > 0 && Date.now() - written > staleAfter) {
    var mins = Math.round((Date.now() - written) / 60000);
    staleEl.textContent = 'Not rewritten for ' + mins + ' min, longer than twice any phase so far took: the run has probably stopped (killed?). “bstar report <run dir>” rewrites this page with the run\'s state.';
    staleEl.className = 'stale';
  }

  var dataEl = document.getElementById('sb-data');
  if (!dataEl) return;
  var iters = JSON.parse(dataEl.textContent);
  var selIter = document.getElementById('sb-iter');
  var selQuery = document.getElementById('sb-query');
  var list = document.getElementById('sb-list');
  var info = document.getElementById('sb-info');
  function el(tag, cls, text) { var e = document.createElement(tag); if (cls) e.className = cls; if (text !== undefined) e.textContent = text; return e; }
  function stepColour(p) { var x = Math.max(0, Math.min(1, p)); return 'hsl(' + Math.round(120 * x) + ', 70%, 82%)'; }
  iters.forEach(function (it, i) { var o = el('option', '', String(it.iteration) + (it.source === 'eval-samples.jsonl' ? ' (eval)' : '')); o.value = String(i); selIter.appendChild(o); });
  function showQueries() {
    var it = iters[Number(selIter.value)];
    selQuery.textContent = '';
    it.queries.forEach(function (q, j) {
      var sel = q.samples.filter(function (s) { return s.selected; }).length;
      var ok = q.samples.filter(function (s) { return s.correct; }).length;
      var o = el('option', '', q.queryId + ' (' + ok + ' correct, ' + sel + ' selected)'); o.value = String(j); selQuery.appendChild(o);
    });
    info.textContent = it.queries.length + ' of ' + it.totalQueries + ' queries embedded';
  }
  function showSamples() {
    var it = iters[Number(selIter.value)];
    var q = it.queries[Number(selQuery.value)];
    list.textContent = '';
    if (!q) return;
    if (q.total > q.samples.length) list.appendChild(el('p', 'hint', q.samples.length + ' of ' + q.total + ' samples shown'));
    q.samples.forEach(function (s, k) {
      var card = el('div', 'sample' + (s.selected ? ' selected' : ''));
      var meta = el('div', 'meta');
      var num = el('span', '', '#' + (k + 1)); if (s.id) num.title = 'sample ' + s.id; meta.appendChild(num);
      meta.appendChild(el('span', 'badge ' + (s.correct ? 'ok' : 'bad'), s.correct ? 'correct' : 'wrong'));
      if (s.selected) meta.appendChild(el('span', 'badge sel', 'selected'));
      if (s.gold) meta.appendChild(el('span', 'badge gold', 'gold'));
      meta.appendChild(el('span', '', 'reward ' + s.reward.toFixed(3)));
      meta.appendChild(el('span', '', 'answer ' + (s.answer === null ? '—' : s.answer)));
      meta.appendChild(el('span', '', 'T ' + s.temperature));
      card.appendChild(meta);
      var pre = el('pre');
      var lines = s.text.split('\n').filter(function (l) { return l.trim() !== ''; });
      if (s.prmSteps && s.prmSteps.length) {
        var chips = el('div', 'meta');
        chips.appendChild(el('span', '', 'PRM steps:'));
        s.prmSteps.forEach(function (p) { var c = el('span', 'step', p.toFixed(2)); c.style.background = stepColour(p); chips.appendChild(c); });
        card.appendChild(chips);
      }
      // colour the steps in the text: annotated equations <<a op b=c>> and the final #### line, or
      // else one step per line, when their number matches the scores; otherwise only the chips
      var parts = s.text.split(/(<<[^<>]*>>|####[^\n]*)/);
      var nMarked = (parts.length - 1) / 2;
      if (s.prmSteps && s.prmSteps.length === nMarked && nMarked > 0 && !s.truncated) {
        parts.forEach(function (t, j) {
          if (j % 2 === 0) { pre.appendChild(document.createTextNode(t)); return; }
          var k = (j - 1) / 2;
          var span = el('span', 'stepmark', t); span.style.background = stepColour(s.prmSteps[k]); span.title = 'step ' + (k + 1) + ': ' + s.prmSteps[k].toFixed(3); pre.appendChild(span);
        });
      } else if (s.prmSteps && s.prmSteps.length === lines.length && !s.truncated) {
        lines.forEach(function (l, j) { var span = el('span', 'stepline', l); span.style.background = stepColour(s.prmSteps[j]); span.title = 'step ' + (j + 1) + ': ' + s.prmSteps[j].toFixed(3); pre.appendChild(span); });
      } else {
        pre.textContent = s.text + (s.truncated ? ' …' : '');
      }
      card.appendChild(pre);
      list.appendChild(card);
    });
  }
  selIter.addEventListener('change', function () { state.iter = selIter.value; showQueries(); selQuery.value = firstInteresting(iters[Number(selIter.value)]); state.query = selQuery.value; save(); showSamples(); });
  selQuery.addEventListener('change', function () { state.query = selQuery.value; save(); showSamples(); });
  selIter.value = state.iter !== undefined && Number(state.iter) < iters.length ? state.iter : String(iters.length - 1);
  showQueries();
  // by default the first query with a selected sample (else with a correct one): the interesting case
  function firstInteresting(it) {
    var j = it.queries.findIndex(function (q) { return q.samples.some(function (s) { return s.selected; }); });
    if (j < 0) j = it.queries.findIndex(function (q) { return q.samples.some(function (s) { return s.correct; }); });
    return String(Math.max(0, j));
  }
  selQuery.value = state.query !== undefined && Number(state.query) < iters[Number(selIter.value)].queries.length ? state.query : firstInteresting(iters[Number(selIter.value)]);
  showSamples();
})();
`;
