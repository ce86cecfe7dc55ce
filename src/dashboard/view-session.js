// #/sessions/<session_id>: a session: its fields, the timeline of its runs
// (each prompt, result or error, its log on demand), a resume form, Stop
// and Delete.

import {h, setText, setAttr, link, TERMINAL, statusBadge, updateBadge,
        timeEl, updateTime, runDuration, refresher, keyedList, messageArea,
        runKind, callbackReports, toast} from './dom.js';
import {path, get, post, del, aborted, clockSkew} from './api.js';
import {logViewer} from './log.js';
import {fields, shown} from './view-run.js';

export default function sessionView(root, params, ctx) {
  const sid = params[0];
  const name = h('span', {}, '…');
  const badge = statusBadge('');
  const stopBtn = h('button', {type: 'button', class: 'danger'}, 'Stop session');
  const delBtn = h('button', {type: 'button', class: 'danger'}, 'Delete session');
  const msg = messageArea();
  const parent = h('span');
  const f = fields([
    ['Session id', h('span', {class: 'mono'}, sid), 'wide'], ['Agent', h('span')],
    ['Project dir', h('span', {class: 'mono'})], ['Parent session', parent],
    ['Host', h('span')], ['Runs', h('span', {class: 'num'})],
    ['Created', timeEl(null)], ['Updated', timeEl(null)],
  ]);
  const timeline = h('ol', {class: 'timeline'});

  const promptIn = h('textarea', {id: 'resume-prompt', name: 'prompt', rows: '4', required: true,
                                  placeholder: 'What the agent does next'});
  const resumeBtn = h('button', {type: 'submit'}, 'Resume');
  const formMsg = messageArea();
  const form = h('form', {class: 'resume', id: 'resume'},
    h('h2', {}, 'Resume the session'),
    h('label', {for: 'resume-prompt'}, 'Prompt for the next run'), promptIn,
    h('div', {class: 'formrow'}, resumeBtn, formMsg.el));

  root.append(
    h('div', {class: 'head'}, h('h1', {}, 'Session ', name), badge,
      h('div', {class: 'actions'},
        h('a', {href: '#resume', class: 'button',
                onclick: (e) => { e.preventDefault(); promptIn.focus(); }}, 'Resume…'),
        stopBtn, delBtn)),
    msg.el, f.el,
    h('h2', {}, 'Runs'), timeline, form);

  let session = null;
  let gone = false;
  const parentIds = new Map();     // parent name -> session id (or null)
  const logs = new Map();          // run_id -> log viewer, those opened

  const items = keyedList(timeline, {
    key: (r) => r.run_id,
    create(r) {
      const it = {
        id: h('a', {href: link.run(r.run_id), class: 'mono'}, r.run_id),
        kind: h('span', {class: 'kind'}), badge: h('span'), created: timeEl(null),
        dur: h('span', {class: 'num'}), reports: h('ul', {class: 'reports', hidden: true}),
        prompt: h('pre', {class: 'text prompt', tabindex: '0', 'aria-label': 'Prompt of ' + r.run_id}),
        outLabel: h('h3', {}), out: h('pre', {class: 'text', tabindex: '0'}),
        logBtn: h('button', {type: 'button', class: 'small', 'aria-expanded': 'false'}, 'Show log'),
        logBox: h('div', {class: 'logslot'}),
      };
      it.logBtn.addEventListener('click', () => toggleLog(r.run_id, it));
      it.el = h('li', {class: 'run-item', dataset: {run: r.run_id}},
        h('div', {class: 'run-head'}, it.id, it.kind, it.badge, it.created, it.dur, it.logBtn),
        h('h3', {}, 'Prompt'), it.reports, it.prompt, it.outLabel, it.out, it.logBox);
      return it;
    },
    update(it, r) {
      it.run = r;
      setText(it.kind, runKind(r));
      updateBadge(it.badge, r.status);
      updateTime(it.created, r.created_at);
      setText(it.dur, runDuration(r, clockSkew));
      setText(it.prompt, r.prompt);
      const reps = callbackReports(r);
      it.reports.hidden = reps.length === 0;
      if (it.reports.childElementCount !== reps.length) {
        it.reports.replaceChildren(...reps.map((x) => h('li', {},
          'reports child session ', h('strong', {}, x.session), ' run ',
          h('a', {href: link.run(x.run), class: 'mono'}, x.run), ': ', statusBadge(x.outcome))));
      }
      let label, text, cls;
      if (r.error) {
        label = 'Error'; text = shown(r.error) + (r.result ? '\n\nResult:\n' + shown(r.result) : ''); cls = 'error';
      } else if (r.result !== null && r.result !== undefined) {
        label = 'Result'; text = r.result === '' ? '(empty)' : shown(r.result); cls = 'result';
      } else {
        label = 'Result'; text = TERMINAL.has(r.status) ? '(no result)' : '(not yet)'; cls = 'result none';
      }
      setText(it.outLabel, label);
      setText(it.out, text);
      setAttr(it.out, 'aria-label', `${label} of ${r.run_id}`);
      const c = 'text ' + cls;
      if (it.out.className !== c) it.out.className = c;
    },
  });

  function toggleLog(runId, it) {
    const open = logs.get(runId);
    if (open) {
      open.stop();
      logs.delete(runId);
      it.logBox.replaceChildren();
      it.logBtn.setAttribute('aria-expanded', 'false');
      setText(it.logBtn, 'Show log');
      return;
    }
    const lv = logViewer(runId);
    logs.set(runId, lv);
    it.logBox.replaceChildren(lv.el);
    it.logBtn.setAttribute('aria-expanded', 'true');
    setText(it.logBtn, 'Hide log');
    lv.start(!TERMINAL.has(it.run.status));
  }

  const showParent = async (pname) => {
    if (!pname) { parent.replaceChildren('—'); return; }
    if (!parentIds.has(pname)) {
      parentIds.set(pname, null);
      try {
        const j = await get(path.sessionByName(pname), {signal: ctx.signal});
        parentIds.set(pname, j.session.session_id);
      } catch (e) { /* a parent that is gone: its name only */ }
    }
    const pid = parentIds.get(pname);
    // made again only when it changed (a focused link keeps its focus)
    if (parent.dataset.shown === `${pname} ${pid}`) return;
    parent.dataset.shown = `${pname} ${pid}`;
    parent.replaceChildren(pid ? h('a', {href: link.session(pid)}, pname) : pname);
  };

  const load = async () => {
    const opts = {signal: ctx.signal};
    let s, runs;
    try {
      [s, runs] = await Promise.all([get(path.session(sid), opts), get(path.sessionRuns(sid), opts)]);
    } catch (e) {
      if (e.status === 404) {
        gone = true;
        updateBadge(badge, 'deleted');
        stopBtn.disabled = delBtn.disabled = resumeBtn.disabled = true;
      }
      throw e;
    }
    session = s.session;
    setText(name, session.session_name);
    document.title = `${session.session_name} ${session.status} · runs`;
    updateBadge(badge, session.status);
    setText(f.dd.Agent.firstChild, session.agent_name || 'any');
    setText(f.dd['Project dir'].firstChild, session.project_dir || '—');
    setText(f.dd.Host.firstChild, session.host || '—');
    setText(f.dd.Runs.firstChild, session.run_count);
    updateTime(f.dd.Created.firstChild, session.created_at);
    updateTime(f.dd.Updated.firstChild, session.updated_at);
    showParent(session.parent_session_name);
    items.set(runs.runs || []);
    for (const id of [...logs.keys()]) {
      if (!items.rows.has(id)) { logs.get(id).stop(); logs.delete(id); }
    }
    const live = (runs.runs || []).some((r) => !TERMINAL.has(r.status));
    stopBtn.disabled = !live;
    msg.clear();
  };

  const refresh = refresher(async () => {
    try { await load(); } catch (e) { if (!aborted(e)) msg.error(e.message); }
  });

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (!session) return;
    const prompt = promptIn.value;
    if (!prompt.trim()) { formMsg.error('A prompt is required'); promptIn.focus(); return; }
    resumeBtn.disabled = true;
    formMsg.clear();
    try {
      const j = await post(path.runs(), {type: 'resume_session', session_name: session.session_name, prompt},
                           {signal: ctx.signal});
      promptIn.value = '';
      formMsg.ok(`${j.run_id} ${j.status}`);
      refresh.schedule();
    } catch (err) {
      if (!aborted(err)) formMsg.error(err.message);
    } finally {
      resumeBtn.disabled = gone;
    }
  });

  stopBtn.addEventListener('click', async () => {
    stopBtn.disabled = true;
    try {
      const j = await post(path.sessionStop(sid), undefined, {signal: ctx.signal});
      const n = (j.stopped || []).length, c = (j.cancelled || []).length;
      msg.ok(`Stopping ${n} run${n === 1 ? '' : 's'}, ${c} pending run${c === 1 ? '' : 's'} cancelled`);
    } catch (e) {
      if (!aborted(e)) msg.error(e.message);
    }
    refresh.schedule();
  });

  delBtn.addEventListener('click', async () => {
    const label = session ? session.session_name : sid;
    if (!window.confirm(`Delete session ${label} with all its runs, results and logs?`)) return;
    delBtn.disabled = true;
    try {
      const j = await del(path.session(sid), {signal: ctx.signal});
      toast(`Session ${label} deleted (${j.deleted_runs} run${j.deleted_runs === 1 ? '' : 's'})`);
      ctx.navigate(link.sessions());
    } catch (e) {
      if (!aborted(e)) msg.error(e.message);
      delBtn.disabled = gone;
    }
  });

  const tick = setInterval(() => {
    for (const it of items.rows.values()) {
      if (it.run && !TERMINAL.has(it.run.status) && it.run.started_at) setText(it.dur, runDuration(it.run, clockSkew));
    }
  }, 1000);

  refresh.now();

  return {
    onEvent(ev) {
      if (ev.session_id !== sid) return;
      if (ev.type === 'session.deleted') {
        gone = true;
        msg.error('This session was deleted.');
        updateBadge(badge, 'deleted');
        stopBtn.disabled = delBtn.disabled = resumeBtn.disabled = true;
        return;
      }
      refresh.schedule();
    },
    refresh() { refresh.schedule(); },
    destroy() {
      refresh.cancel();
      clearInterval(tick);
      for (const lv of logs.values()) lv.stop();
    },
  };
}
