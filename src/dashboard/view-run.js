// #/runs/<run_id>: one run: its prompt, result or error, times, status,
// its live log, and Stop.

import {h, setText, setAttr, link, TERMINAL, statusBadge, updateBadge,
        timeEl, updateTime, runDuration, refresher, messageArea, runKind,
        callbackReports} from './dom.js';
import {path, get, post, aborted, clockSkew} from './api.js';
import {logViewer} from './log.js';

// a text as shown: without the one newline that ends most answers
export const shown = (t) => String(t).replace(/\n$/, '');

export function demandsText(d) {
  if (!d) return '—';
  const parts = [];
  if (d.tags && d.tags.length) parts.push('tags ' + d.tags.join(', '));
  if (d.hostname) parts.push('host ' + d.hostname);
  if (d.project_dir) parts.push('project dir ' + d.project_dir);
  if (d.executor_type) parts.push('executor type ' + d.executor_type);
  return parts.length ? parts.join('; ') : '—';
}

// a <dl> of [label, node, class?] items; returns {el, dd: {label: dd}}
export function fields(pairs) {
  const dd = {};
  const el = h('dl', {class: 'fields'});
  for (const [label, node, cls] of pairs) {
    dd[label] = h('dd', {}, node);
    el.append(h('div', {class: cls || null}, h('dt', {}, label), dd[label]));
  }
  return {el, dd};
}

export default function runView(root, params, ctx) {
  const runId = params[0];
  const title = h('h1', {}, 'Run ', h('span', {class: 'mono'}, runId));
  const badge = statusBadge('');
  const stopBtn = h('button', {type: 'button', class: 'danger', disabled: true}, 'Stop');
  const msg = messageArea();

  const sess = h('a', {});
  const launcher = h('span', {class: 'mono'});
  const times = {created: timeEl(null), claimed: timeEl(null), started: timeEl(null), completed: timeEl(null)};
  const dur = h('span', {class: 'num'});
  const f = fields([
    ['Session', sess], ['Type', h('span')], ['Agent', h('span')],
    ['Project dir', h('span', {class: 'mono'})], ['Parent session', h('span')],
    ['Demands', h('span')], ['Waiting for', h('span')], ['Runner', launcher],
    ['Created', times.created], ['Claimed', times.claimed], ['Started', times.started],
    ['Ended', times.completed], ['Duration', dur],
  ]);
  const prompt = h('pre', {class: 'text prompt', tabindex: '0', 'aria-label': 'Prompt'});
  const reports = h('ul', {class: 'reports', hidden: true});
  const result = h('pre', {class: 'text result', tabindex: '0', 'aria-label': 'Result'});
  const resultNote = h('p', {class: 'note', hidden: true});
  const error = h('pre', {class: 'text error', tabindex: '0', 'aria-label': 'Error'});
  const errorSec = h('section', {class: 'block', hidden: true}, h('h2', {}, 'Error'), error);
  const log = logViewer(runId);

  root.append(
    h('div', {class: 'head'}, title, badge,
      h('div', {class: 'actions'}, stopBtn)),
    msg.el,
    f.el,
    h('div', {class: 'pair'},
      h('section', {class: 'block'}, h('h2', {}, 'Prompt'), reports, prompt),
      h('section', {class: 'block'}, h('h2', {}, 'Result'), result, resultNote)),
    errorSec,
    h('section', {class: 'block'}, h('h2', {}, 'Log'), log.el));

  let run = null;
  let logStarted = false;

  const show = (r) => {
    run = r;
    updateBadge(badge, r.status);
    setText(sess, r.session_name);
    setAttr(sess, 'href', r.session_id ? link.session(r.session_id) : null);
    setText(f.dd.Type.firstChild, runKind(r) + (r.type ? ` (${r.type})` : ''));
    setText(f.dd.Agent.firstChild, r.agent_name || 'any');
    setText(f.dd['Project dir'].firstChild, r.project_dir || '—');
    setText(f.dd['Parent session'].firstChild, r.parent_session_name || '—');
    setText(f.dd.Demands.firstChild, demandsText(r.demands) + (r.affinity === false ? ' (no affinity)' : ''));
    setText(f.dd['Waiting for'].firstChild, r.waiting_for || '—');
    setText(launcher, r.launcher_id || '—');
    updateTime(times.created, r.created_at);
    updateTime(times.claimed, r.claimed_at);
    updateTime(times.started, r.started_at);
    updateTime(times.completed, r.completed_at);
    setText(dur, runDuration(r, clockSkew) || '—');
    setText(prompt, r.prompt);
    const reps = callbackReports(r);
    reports.hidden = reps.length === 0;
    if (reports.childElementCount !== reps.length) reports.replaceChildren(...reps.map((x) => h('li', {},
      'reports child session ', h('strong', {}, x.session), ' run ',
      h('a', {href: link.run(x.run), class: 'mono'}, x.run), ': ', statusBadge(x.outcome))));
    if (r.result === null || r.result === undefined) {
      setText(result, TERMINAL.has(r.status) ? '(no result)' : '(not yet)');
      result.classList.add('none');
    } else {
      setText(result, r.result === '' ? '(empty)' : shown(r.result));
      result.classList.toggle('none', r.result === '');
    }
    resultNote.hidden = !r.result_truncated;
    setText(resultNote, r.result_truncated ? 'The result was cut (runs_result_max).' : '');
    errorSec.hidden = !r.error;
    setText(error, shown(r.error || ''));
    stopBtn.disabled = TERMINAL.has(r.status);
    document.title = `${r.run_id} ${r.status} · runs`;
    if (!logStarted) {
      logStarted = true;
      log.start(!TERMINAL.has(r.status));
    }
  };

  const refresh = refresher(async () => {
    try {
      show(await get(path.run(runId), {signal: ctx.signal}));
      msg.clear();
    } catch (e) {
      if (aborted(e)) return;
      msg.error(e.message);
      if (e.status === 404) {
        stopBtn.disabled = true;
        updateBadge(badge, 'gone');
      }
    }
  });

  stopBtn.addEventListener('click', async () => {
    stopBtn.disabled = true;
    try {
      const j = await post(path.runStop(runId), undefined, {signal: ctx.signal});
      msg.ok(j && j.message ? j.message : 'Stop requested');
    } catch (e) {
      if (!aborted(e)) msg.error(e.message);
    }
    refresh.schedule();
  });

  const tick = setInterval(() => {
    if (run && !TERMINAL.has(run.status) && run.started_at) setText(dur, runDuration(run, clockSkew));
  }, 1000);

  refresh.now();

  return {
    onEvent(ev) {
      if (ev.run_id === runId) refresh.schedule();
      else if (ev.type === 'session.deleted' && run && ev.session_id === run.session_id) refresh.schedule();
    },
    refresh() { refresh.schedule(); },
    destroy() { refresh.cancel(); clearInterval(tick); log.stop(); },
  };
}
