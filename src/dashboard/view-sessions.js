// #/sessions: the sessions, newest first, with a status filter; a row is
// fetched again when an event touches one of its runs.

import {h, setText, setAttr, link, SESSION_STATUSES, updateBadge, timeEl,
        updateTime, refresher, keyedList, newestFirst, messageArea} from './dom.js';
import {path, get, aborted} from './api.js';

const LIMIT = 500;

export default function sessionsView(root, params, ctx) {
  let status = ctx.query.get('status') || '';
  const statusSel = h('select', {id: 'f-sstatus'},
    h('option', {value: ''}, 'any'),
    SESSION_STATUSES.map((s) => h('option', {value: s, selected: s === status}, s)));
  const count = h('span', {class: 'count', 'aria-live': 'polite'});
  const msg = messageArea();
  const tbody = h('tbody');
  const empty = h('p', {class: 'empty', hidden: true}, 'No sessions.');

  root.append(
    h('div', {class: 'head'}, h('h1', {}, 'Sessions'), count,
      h('div', {class: 'actions'}, h('a', {href: link.new(), class: 'button'}, 'New session'))),
    h('form', {class: 'filters', role: 'search', onsubmit: (e) => e.preventDefault()},
      h('label', {for: 'f-sstatus'}, 'Status'), statusSel),
    msg.el,
    h('div', {class: 'tablewrap'},
      h('table', {class: 'grid sessions'},
        h('colgroup', {},
          h('col', {class: 'c-name'}), h('col', {class: 'c-status'}), h('col', {class: 'c-agent'}),
          h('col', {class: 'c-name'}), h('col', {class: 'c-count'}), h('col', {class: 'c-time'}),
          h('col', {class: 'c-time'})),
        h('thead', {}, h('tr', {},
          ['Session', 'Status', 'Agent', 'Parent', 'Runs', 'Created', 'Updated']
            .map((t) => h('th', {scope: 'col'}, t)))),
        tbody)),
    empty);

  const sessions = new Map();    // session_id -> session
  const touched = new Set();
  let full = true;
  let names = new Map();       // session_name -> session_id, of those shown

  const idOfName = () => {
    const m = new Map();
    for (const s of sessions.values()) m.set(s.session_name, s.session_id);
    return m;
  };

  const list = keyedList(tbody, {
    key: (s) => s.session_id,
    create() {
      const row = {name: h('a', {}), badge: h('span'), agent: h('td'), parent: h('td'),
                   runs: h('td', {class: 'num'}), created: timeEl(null), updated: timeEl(null)};
      row.el = h('tr', {}, h('td', {}, row.name), h('td', {}, row.badge), row.agent, row.parent,
                 row.runs, h('td', {class: 'num'}, row.created), h('td', {class: 'num'}, row.updated));
      return row;
    },
    update(row, s) {
      setText(row.name, s.session_name);
      setAttr(row.name, 'href', link.session(s.session_id));
      updateBadge(row.badge, s.status);
      setText(row.agent, s.agent_name || '—');
      const pid = s.parent_session_name && names.get(s.parent_session_name);
      const cur = row.parent.firstChild;
      if (!s.parent_session_name) {
        setText(row.parent, '—');
      } else if (pid) {
        if (!cur || cur.nodeName !== 'A') row.parent.replaceChildren(h('a', {}));
        setText(row.parent.firstChild, s.parent_session_name);
        setAttr(row.parent.firstChild, 'href', link.session(pid));
      } else {
        setText(row.parent, s.parent_session_name);
      }
      setText(row.runs, s.run_count);
      updateTime(row.created, s.created_at);
      updateTime(row.updated, s.updated_at);
      row.el.dataset.session = s.session_name;
    },
  });

  const render = () => {
    names = idOfName();
    const items = newestFirst([...sessions.values()]).slice(0, LIMIT);
    list.set(items);
    setText(count, `${items.length} session${items.length === 1 ? '' : 's'}`);
    empty.hidden = items.length > 0;
  };

  const load = async () => {
    const opts = {signal: ctx.signal};
    if (full || touched.size > 20) {
      full = false;
      touched.clear();
      const j = await get(path.sessions({status, limit: LIMIT}), opts);
      sessions.clear();
      for (const s of j.sessions || []) sessions.set(s.session_id, s);
    } else {
      const ids = [...touched];
      touched.clear();
      await Promise.all(ids.map(async (id) => {
        try {
          const j = await get(path.session(id), opts);
          if (!status || j.session.status === status) sessions.set(id, j.session);
          else sessions.delete(id);
        } catch (e) {
          if (e.status === 404) sessions.delete(id);
          else throw e;
        }
      }));
    }
    msg.clear();
    render();
  };

  const refresh = refresher(async () => {
    try { await load(); } catch (e) { if (!aborted(e)) msg.error(e.message); }
  });

  statusSel.addEventListener('change', () => {
    status = statusSel.value;
    const p = new URLSearchParams();
    if (status) p.set('status', status);
    ctx.replaceQuery(p);
    full = true;
    refresh.schedule();
  });

  refresh.now();

  return {
    onEvent(ev) {
      if (ev.type === 'session.deleted') {
        sessions.delete(ev.session_id);
        render();
      } else if ((ev.type.startsWith('run.') || ev.type === 'session.created') && ev.session_id) {
        touched.add(ev.session_id);
        refresh.schedule();
      }
    },
    refresh() { full = true; refresh.schedule(); },
    destroy() { refresh.cancel(); },
  };
}
