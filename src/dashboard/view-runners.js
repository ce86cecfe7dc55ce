// #/runners: the registered runners (GET {launchers}) as cards, with
// Deregister (DELETE {launchers}/{id}: the runner's next poll tells it to
// leave, then it is removed).

import {h, setText, updateBadge, timeEl, updateTime, fmtDuration, refresher,
        keyedList, messageArea, toast} from './dom.js';
import {path, get, del, aborted} from './api.js';

export default function runnersView(root, params, ctx) {
  const count = h('span', {class: 'count', 'aria-live': 'polite'});
  const msg = messageArea();
  const grid = h('ul', {class: 'cards', 'aria-label': 'Runners'});
  const empty = h('p', {class: 'empty', hidden: true}, 'No runner is registered.');
  root.append(h('div', {class: 'head'}, h('h1', {}, 'Runners'), count), msg.el, grid, empty);

  let fetchedAt = 0;
  let again = null;

  const cards = keyedList(grid, {
    key: (l) => l.launcher_id,
    create(l) {
      const c = {
        host: h('h2', {}), badge: h('span'), id: h('dd', {class: 'mono'}),
        type: h('dd'), agents: h('dd'), tags: h('dd'), dir: h('dd', {class: 'mono'}),
        registered: timeEl(null), beat: h('span', {class: 'num'}),
        btn: h('button', {type: 'button', class: 'danger'}, 'Deregister'),
      };
      const row = (label, dd) => h('div', {}, h('dt', {}, label), dd);
      c.btn.addEventListener('click', () => deregister(c));
      c.el = h('li', {class: 'card', dataset: {launcher: l.launcher_id}},
        h('div', {class: 'card-head'}, c.host, c.badge),
        h('dl', {class: 'fields'},
          row('Id', c.id), row('Executor type', c.type), row('Agents', c.agents),
          row('Tags', c.tags), row('Project dir', c.dir),
          row('Registered', h('dd', {}, c.registered)), row('Last heartbeat', h('dd', {}, c.beat))),
        h('div', {class: 'card-foot'}, c.btn));
      return c;
    },
    update(c, l) {
      c.l = l;
      setText(c.host, l.hostname || '(no hostname)');
      updateBadge(c.badge, l.deregistering ? 'leaving' : l.status);
      setText(c.id, l.launcher_id);
      setText(c.type, l.executor_type || '—');
      setText(c.agents, (l.agents || []).length ? l.agents.join(', ') : 'any (no agents listed)');
      setText(c.tags, (l.tags || []).length ? l.tags.join(', ') : '—');
      setText(c.dir, l.project_dir || '—');
      updateTime(c.registered, l.registered_at);
      c.beatAt = fetchedAt - 1000 * (Number(l.seconds_since_heartbeat) || 0);
      beat(c);
      c.btn.disabled = !!l.deregistering || c.busy;
      setText(c.btn, l.deregistering ? 'Deregistering…' : 'Deregister');
      c.btn.setAttribute('aria-label', `Deregister ${l.hostname || l.launcher_id}`);
      c.el.dataset.status = l.status;
    },
  });

  function beat(c) {
    const sec = Math.max(0, (Date.now() - c.beatAt) / 1000);
    setText(c.beat, `${fmtDuration(sec)} ago`);
    c.beat.title = c.l.last_heartbeat || '';
  }

  async function deregister(c) {
    const l = c.l;
    const label = l.hostname || l.launcher_id;
    if (!window.confirm(`Deregister runner ${label}? Its next poll tells it to leave.`)) return;
    c.busy = true;
    c.btn.disabled = true;
    try {
      const j = await del(path.launcher(l.launcher_id), {signal: ctx.signal});
      toast(`${label}: ${j.message || 'deregistered'}`);
    } catch (e) {
      if (!aborted(e)) msg.error(`${label}: ${e.message}`);
    }
    c.busy = false;
    refresh.schedule();
  }

  const refresh = refresher(async () => {
    try {
      const j = await get(path.launchers(), {signal: ctx.signal});
      fetchedAt = Date.now();
      const ls = j.launchers || [];
      cards.set(ls);
      const online = ls.filter((l) => l.status === 'online').length;
      setText(count, `${ls.length} runner${ls.length === 1 ? '' : 's'}, ${online} online`);
      empty.hidden = ls.length > 0;
      msg.clear();
      // one marked for deregistration leaves at its next poll
      clearTimeout(again);
      if (ls.some((l) => l.deregistering)) again = setTimeout(refresh.schedule, 1000);
    } catch (e) {
      if (!aborted(e)) msg.error(e.message);
    }
  });

  const tick = setInterval(() => { for (const c of cards.rows.values()) beat(c); }, 1000);

  refresh.now();

  return {
    onEvent(ev) {
      if (ev.type.startsWith('launcher.')) refresh.schedule();
    },
    refresh() { refresh.schedule(); },
    destroy() { refresh.cancel(); clearInterval(tick); clearTimeout(again); },
  };
}
