// #/tree: sessions as a tree of parents and children (a session's
// parent_session_name), each with its status and, for a child, the
// callbacks its ends made: resume runs of its parent that carry its
// report (docs/CALLBACKS.md).

import {h, setText, link, updateBadge, statusBadge, timeEl, updateTime,
        refresher, syncChildren, messageArea, callbackReports} from './dom.js';
import {path, get, aborted} from './api.js';

const LIMIT = 1000;

export default function treeView(root, params, ctx) {
  const lonely = h('input', {type: 'checkbox', id: 'f-lonely', checked: ctx.query.get('all') !== '1'});
  const count = h('span', {class: 'count', 'aria-live': 'polite'});
  const msg = messageArea();
  const top = h('ul', {class: 'tree', 'aria-label': 'Sessions by parent'});
  const empty = h('p', {class: 'empty', hidden: true}, 'No sessions.');
  root.append(
    h('div', {class: 'head'}, h('h1', {}, 'Session tree'), count),
    h('form', {class: 'filters', onsubmit: (e) => e.preventDefault()},
      lonely, h('label', {for: 'f-lonely'}, 'Only sessions with a parent or children')),
    msg.el, top, empty);

  const sessions = new Map();     // session_id -> session
  const runsOf = new Map();       // parent session_id -> its runs
  const touched = new Set();
  let full = true;
  const nodes = new Map();        // session_id -> node elements

  const node = (s) => {
    let n = nodes.get(s.session_id);
    if (n) return n;
    n = {
      name: h('a', {href: link.session(s.session_id)}), badge: h('span'),
      agent: h('span', {class: 'agent'}), runs: h('span', {class: 'num runs'}),
      updated: timeEl(null), orphan: h('span', {class: 'note', hidden: true}),
      cbs: h('ul', {class: 'callbacks', 'aria-label': 'callbacks'}),
      kids: h('ul', {class: 'tree-kids'}),
    };
    n.el = h('li', {class: 'tree-node', dataset: {session: s.session_name}},
      h('div', {class: 'tree-line'}, n.name, n.badge, n.agent, n.runs, n.updated, n.orphan),
      n.cbs, n.kids);
    nodes.set(s.session_id, n);
    return n;
  };

  // the callbacks each child's run ends made: child name -> [{cb run, report}]
  const callbacksByChild = () => {
    const m = new Map();
    for (const runs of runsOf.values()) {
      for (const r of runs) {
        for (const rep of callbackReports(r)) {
          if (!m.has(rep.session)) m.set(rep.session, []);
          m.get(rep.session).push({run: r, rep});
        }
      }
    }
    return m;
  };

  const render = () => {
    const byName = new Map();
    const kids = new Map();
    for (const s of sessions.values()) byName.set(s.session_name, s);
    for (const s of sessions.values()) {
      const p = s.parent_session_name && byName.get(s.parent_session_name);
      if (p) {
        if (!kids.has(p.session_id)) kids.set(p.session_id, []);
        kids.get(p.session_id).push(s);
      }
    }
    const cbs = callbacksByChild();
    const byCreated = (a, b) => (a.created_at || '').localeCompare(b.created_at || '');
    const seen = new Set();
    let shown = 0;

    const build = (s, parentName) => {
      seen.add(s.session_id);
      shown++;
      const n = node(s);
      setText(n.name, s.session_name);
      updateBadge(n.badge, s.status);
      setText(n.agent, s.agent_name ? 'agent ' + s.agent_name : '');
      setText(n.runs, `${s.run_count} run${s.run_count === 1 ? '' : 's'}`);
      updateTime(n.updated, s.updated_at);
      const orphan = s.parent_session_name && !parentName;
      n.orphan.hidden = !orphan;
      setText(n.orphan, orphan ? `child of ${s.parent_session_name} (not stored)` : '');
      // its callbacks to its parent, oldest first
      const mine = parentName ? (cbs.get(s.session_name) || []) : [];
      const cbEls = () => mine.map(({run, rep}) => {
        const li = h('li', {class: 'callback', dataset: {run: run.run_id}},
          '↳ reported run ', h('a', {href: link.run(rep.run), class: 'mono'}, rep.run), ' ',
          statusBadge(rep.outcome), ' to ', h('strong', {}, parentName), ' in callback run ',
          h('a', {href: link.run(run.run_id), class: 'mono'}, run.run_id), ' ', statusBadge(run.status));
        return li;
      });
      // the callback lines, made again when one changed
      const sig = mine.map(({run, rep}) => `${run.run_id} ${run.status} ${rep.run}`).join();
      if (n.cbs.dataset.sig !== sig) {
        n.cbs.dataset.sig = sig;
        n.cbs.replaceChildren(...cbEls());
      }
      n.cbs.hidden = mine.length === 0;
      const children = (kids.get(s.session_id) || []).filter((c) => !seen.has(c.session_id)).sort(byCreated);
      syncChildren(n.kids, children.map((c) => build(c, s.session_name)));
      n.kids.hidden = children.length === 0;
      return n.el;
    };

    const roots = [...sessions.values()]
      .filter((s) => !s.parent_session_name || !byName.has(s.parent_session_name))
      .filter((s) => !lonely.checked || s.parent_session_name || kids.has(s.session_id))
      .sort((a, b) => byCreated(b, a));
    syncChildren(top, roots.map((s) => build(s, null)));
    for (const id of [...nodes.keys()]) if (!seen.has(id)) nodes.delete(id);
    setText(count, `${shown} session${shown === 1 ? '' : 's'}`);
    empty.hidden = shown > 0;
    setText(empty, lonely.checked && sessions.size ? 'No session has a parent or children.' : 'No sessions.');
  };

  const parentsToRead = () => {
    const names = new Set();
    for (const s of sessions.values()) if (s.parent_session_name) names.add(s.parent_session_name);
    return [...sessions.values()].filter((s) => names.has(s.session_name));
  };

  // the runs of these sessions (and with `fresh`, the sessions again:
  // their run counts then agree with the runs shown)
  const loadRuns = async (ids, opts, fresh = []) => {
    await Promise.all(ids.map(async (id) => {
      try {
        const [j, s] = await Promise.all([get(path.sessionRuns(id), opts),
                                          fresh.includes(id) ? get(path.session(id), opts) : null]);
        runsOf.set(id, j.runs || []);
        if (s) sessions.set(id, s.session);
      } catch (e) {
        if (e.status === 404) runsOf.delete(id);
        else throw e;
      }
    }));
  };

  const load = async () => {
    const opts = {signal: ctx.signal};
    if (full || touched.size > 20) {
      full = false;
      touched.clear();
      const j = await get(path.sessions({limit: LIMIT}), opts);
      sessions.clear();
      for (const s of j.sessions || []) sessions.set(s.session_id, s);
      runsOf.clear();
      await loadRuns(parentsToRead().map((s) => s.session_id), opts);
    } else {
      const ids = [...touched];
      touched.clear();
      let structure = false;
      await Promise.all(ids.map(async (id) => {
        try {
          const j = await get(path.session(id), opts);
          const old = sessions.get(id);
          if (!old) structure = true;
          sessions.set(id, j.session);
        } catch (e) {
          if (e.status === 404) { sessions.delete(id); runsOf.delete(id); structure = true; }
          else throw e;
        }
      }));
      const parents = new Set(parentsToRead().map((s) => s.session_id));
      const want = structure ? [...parents].filter((id) => !runsOf.has(id) || ids.includes(id))
                             : ids.filter((id) => parents.has(id));
      await loadRuns(want, opts, want.filter((id) => !ids.includes(id)));
    }
    msg.clear();
    render();
  };

  const refresh = refresher(async () => {
    try { await load(); } catch (e) { if (!aborted(e)) msg.error(e.message); }
  });

  lonely.addEventListener('change', () => {
    const p = new URLSearchParams();
    if (!lonely.checked) p.set('all', '1');
    ctx.replaceQuery(p);
    render();
  });

  refresh.now();

  return {
    onEvent(ev) {
      if (ev.type === 'session.deleted') {
        sessions.delete(ev.session_id);
        runsOf.delete(ev.session_id);
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
