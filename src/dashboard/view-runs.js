// #/runs: the runs, newest first, with filters (status, session name);
// rows are updated in place as events touch their runs.

import {h, setText, setAttr, link, RUN_STATUSES, TERMINAL, updateBadge,
        timeEl, updateTime, runDuration, refresher, keyedList, newestFirst,
        messageArea, runKind} from './dom.js';
import {path, get, aborted, clockSkew} from './api.js';

const LIMIT = 200;

export default function runsView(root, params, ctx) {
  const q = ctx.query;
  const filter = {status: q.get('status') || '', session: q.get('session') || ''};

  const statusSel = h('select', {id: 'f-status', name: 'status'},
    h('option', {value: ''}, 'any'),
    RUN_STATUSES.map((s) => h('option', {value: s, selected: s === filter.status}, s)));
  const sessionIn = h('input', {id: 'f-session', name: 'session', type: 'search',
                                autocomplete: 'off', spellcheck: 'false',
                                placeholder: 'session name', value: filter.session});
  const count = h('span', {class: 'count', 'aria-live': 'polite'});
  const msg = messageArea();
  const tbody = h('tbody');
  const empty = h('p', {class: 'empty', hidden: true}, 'No runs.');

  root.append(
    h('div', {class: 'head'}, h('h1', {}, 'Runs'), count),
    h('form', {class: 'filters', role: 'search', onsubmit: (e) => e.preventDefault()},
      h('label', {for: 'f-status'}, 'Status'), statusSel,
      h('label', {for: 'f-session'}, 'Session'), sessionIn),
    msg.el,
    h('div', {class: 'tablewrap'},
      h('table', {class: 'grid runs'},
        h('colgroup', {},
          h('col', {class: 'c-id'}), h('col', {class: 'c-name'}), h('col', {class: 'c-type'}),
          h('col', {class: 'c-agent'}), h('col', {class: 'c-status'}), h('col', {class: 'c-time'}),
          h('col', {class: 'c-dur'})),
        h('thead', {}, h('tr', {},
          ['Run', 'Session', 'Type', 'Agent', 'Status', 'Created', 'Duration']
            .map((t) => h('th', {scope: 'col'}, t)))),
        tbody)),
    empty);

  const runs = new Map();       // run_id -> run, the ones shown
  const touched = new Set();    // run ids events named since the last refresh
  let full = true;              // next refresh: the whole listing

  const list = keyedList(tbody, {
    key: (r) => r.run_id,
    create(r) {
      const id = h('a', {href: link.run(r.run_id), class: 'mono'});
      const sess = h('a', {});
      const row = {
        id, sess, type: h('td'), agent: h('td'), badge: h('span'),
        created: timeEl(null), dur: h('td', {class: 'num'}),
      };
      row.el = h('tr', {dataset: {run: r.run_id}},
        h('td', {}, id), h('td', {}, sess), row.type, row.agent,
        h('td', {}, row.badge), h('td', {class: 'num'}, row.created), row.dur);
      return row;
    },
    update(row, r) {
      setText(row.id, r.run_id);
      setText(row.sess, r.session_name);
      setAttr(row.sess, 'href', r.session_id ? link.session(r.session_id) : null);
      setText(row.type, runKind(r));
      setText(row.agent, r.agent_name || '—');
      updateBadge(row.badge, r.status);
      setAttr(row.badge, 'title', r.waiting_for ? 'waiting for ' + r.waiting_for : null);
      updateTime(row.created, r.created_at);
      setText(row.dur, runDuration(r, clockSkew));
      row.el.dataset.status = r.status;
    },
  });

  const matches = (r) => (!filter.status || r.status === filter.status)
                         && (!filter.session || r.session_name === filter.session);

  const render = () => {
    let items = newestFirst([...runs.values()]);
    if (items.length > LIMIT) {
      for (const r of items.slice(LIMIT)) runs.delete(r.run_id);
      items = items.slice(0, LIMIT);
    }
    list.set(items);
    setText(count, `${items.length} run${items.length === 1 ? '' : 's'}` +
                   (items.length >= LIMIT ? ` (the newest ${LIMIT})` : ''));
    empty.hidden = items.length > 0;
  };

  const load = async () => {
    const opts = {signal: ctx.signal};
    if (full || touched.size > 20) {
      full = false;
      touched.clear();
      const j = await get(path.runs({status: filter.status, session_name: filter.session, limit: LIMIT}), opts);
      runs.clear();
      for (const r of j.runs || []) runs.set(r.run_id, r);
    } else {
      const ids = [...touched];
      touched.clear();
      await Promise.all(ids.map(async (id) => {
        try {
          const r = await get(path.run(id), opts);
          if (matches(r)) runs.set(r.run_id, r);
          else runs.delete(id);
        } catch (e) {
          if (e.status === 404) runs.delete(id);
          else throw e;
        }
      }));
    }
    msg.clear();
    render();
  };

  const refresh = refresher(async () => {
    try { await load(); } catch (e) {
      if (aborted(e)) return;
      msg.error(e.message);          // a bad filter: the API's 422 says why
      if (e.status === 422) { runs.clear(); render(); }
    }
  });

  const setFilter = () => {
    filter.status = statusSel.value;
    filter.session = sessionIn.value.trim();
    const p = new URLSearchParams();
    if (filter.status) p.set('status', filter.status);
    if (filter.session) p.set('session', filter.session);
    ctx.replaceQuery(p);
    full = true;
    refresh.schedule();
  };
  statusSel.addEventListener('change', setFilter);
  let typing = null;
  sessionIn.addEventListener('input', () => {
    clearTimeout(typing);
    typing = setTimeout(setFilter, 300);
  });

  // live durations
  const tick = setInterval(() => {
    for (const [id, row] of list.rows) {
      const r = runs.get(id);
      if (r && !TERMINAL.has(r.status) && r.started_at) setText(row.dur, runDuration(r, clockSkew));
    }
  }, 1000);

  refresh.now();

  return {
    onEvent(ev) {
      if (ev.type.startsWith('run.') && ev.run_id) {
        touched.add(ev.run_id);
        refresh.schedule();
      } else if (ev.type === 'session.deleted' && ev.session_id) {
        for (const r of [...runs.values()]) {
          if (r.session_id === ev.session_id) runs.delete(r.run_id);
        }
        render();
      }
    },
    refresh() { full = true; refresh.schedule(); },
    destroy() { refresh.cancel(); clearInterval(tick); clearTimeout(typing); },
  };
}
