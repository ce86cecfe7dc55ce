// #/agents: the blueprint registry (GET {agents}[?tags=]) with Enable,
// Disable (PATCH {agents}/{name}/status) and Delete, and the agents the
// online runners offer that the registry does not hold ("runner-local").
// The page is read again on the registry's events (agent.*) and the
// runners' (launcher.*). A registry that is not mounted (404, 405)
// leaves the runner-local agents only.

import {h, setText, setAttr, updateBadge, refresher, keyedList, messageArea,
        toast} from './dom.js';
import {path, get, patch, del, aborted, config} from './api.js';

// {registry: [blueprint] | null when not mounted, unmounted: the answer
// that said so, error: text | null, runners: the online runners,
// local: [{name, hosts}] the runners' agents the registry does not hold}
export async function readAgents(signal, tags) {
  const [reg, run] = await Promise.allSettled([get(path.agents({tags}), {signal}),
                                               get(path.launchers(), {signal})]);
  for (const r of [reg, run]) if (r.status === 'rejected' && aborted(r.reason)) throw r.reason;
  const out = {registry: null, unmounted: null, error: null, runners: [], local: []};
  const errs = [];
  if (reg.status === 'fulfilled') out.registry = Array.isArray(reg.value) ? reg.value : [];
  else if (reg.reason.status === 404 || reg.reason.status === 405) out.unmounted = reg.reason;
  else errs.push('Blueprints: ' + reg.reason.message);
  if (run.status === 'fulfilled') {
    out.runners = (run.value.launchers || []).filter((l) => l.status === 'online' && !l.deregistering);
  } else {
    errs.push('Runners: ' + run.reason.message);
  }
  out.error = errs.length ? errs.join('; ') : null;
  const held = new Set((out.registry || []).map((b) => b.name));
  const hosts = new Map();
  for (const l of out.runners) {
    for (const a of l.agents || []) {
      if (held.has(a)) continue;
      if (!hosts.has(a)) hosts.set(a, []);
      hosts.get(a).push(l.hostname || l.launcher_id);
    }
  }
  out.local = [...hosts.keys()].sort().map((name) => ({name, hosts: hosts.get(name)}));
  return out;
}

// the online runners that take runs of an active registry blueprint: all
// of them (its run demands no agent of its runner; the executor gets the
// blueprint with the run); an inactive one takes no runs
const takers = (runners, bp) => (bp.status === 'active' ? runners : [])
  .map((l) => l.hostname || l.launcher_id);

// a row's buttons while its action runs: aria-disabled, not disabled (a
// disabled button loses the keyboard's focus)
function busy(r, on) {
  r.busy = on;
  for (const b of [r.toggle, r.del]) setAttr(b, 'aria-disabled', on ? 'true' : null);
}

const splitTags = (s) => s.split(',').map((t) => t.trim()).filter(Boolean).join(',');

export default function agentsView(root, params, ctx) {
  let tags = splitTags(ctx.query.get('tags') || '');
  const tagsIn = h('input', {id: 'f-tags', name: 'tags', type: 'search', autocomplete: 'off',
                             spellcheck: 'false', placeholder: 'linux, python', value: tags,
                             'aria-describedby': 'f-tags-hint'});
  const count = h('span', {class: 'count', 'aria-live': 'polite'});
  const msg = messageArea();
  const tbody = h('tbody');
  const empty = h('p', {class: 'empty', hidden: true});

  root.append(
    h('div', {class: 'head'}, h('h1', {}, 'Blueprints'), count),
    h('form', {class: 'filters', role: 'search', onsubmit: (e) => e.preventDefault()},
      h('label', {for: 'f-tags'}, 'Tags'), tagsIn,
      h('span', {class: 'note', id: 'f-tags-hint'}, 'the registry\'s blueprints with every one of them')),
    msg.el,
    h('div', {class: 'tablewrap'},
      h('table', {class: 'grid agents'},
        h('colgroup', {},
          h('col', {class: 'c-id'}), h('col', {class: 'c-status'}), h('col'), h('col', {class: 'c-tags'}),
          h('col', {class: 'c-model'}), h('col', {class: 'c-list'}), h('col', {class: 'c-list'}),
          h('col', {class: 'c-acts'})),
        h('thead', {}, h('tr', {},
          ['Name', 'Status', 'Description', 'Tags', 'Model', 'MCP servers', 'Runners', 'Actions']
            .map((t) => h('th', {scope: 'col'}, t)))),
        tbody)),
    empty);

  let data = null;              // what readAgents answered last
  let msgBy = '';               // 'load' | 'action': what the message line shows

  const list = keyedList(tbody, {
    key: (a) => a.kind + ':' + a.name,
    create(a) {
      const r = {name: h('td', {class: 'name'}), badge: h('span'), desc: h('div', {class: 'clamp'}),
                 tags: h('td'), model: h('td'), mcp: h('td'), runners: h('td'), acts: h('td', {class: 'acts'})};
      if (a.kind === 'registry') {
        r.toggle = h('button', {type: 'button', class: 'small toggle'});
        r.del = h('button', {type: 'button', class: 'small danger'}, 'Delete');
        r.toggle.addEventListener('click', () => { if (!r.busy) setStatus(r); });
        r.del.addEventListener('click', () => { if (!r.busy) remove(r); });
        r.acts.append(r.toggle, r.del);
      }
      r.el = h('tr', {dataset: {agent: a.name, kind: a.kind}}, r.name, h('td', {}, r.badge),
               h('td', {class: 'desc'}, r.desc), r.tags, r.model, r.mcp, r.runners, r.acts);
      return r;
    },
    update(r, a) {
      r.a = a;
      const b = a.bp || {};
      const local = a.kind === 'local';
      setText(r.name, a.name);
      setAttr(r.name, 'title', a.name);
      const st = local ? 'runner-local' : b.status;
      updateBadge(r.badge, st);
      setAttr(r.badge, 'title', local ? 'Offered by its runners; the registry does not hold it' : null);
      r.el.dataset.status = st;
      setText(r.desc, local ? '—' : b.description);
      setAttr(r.desc, 'title', local ? null : b.description);
      const t = (b.tags || []).join(',');
      if (r.tagsKey !== t) {
        r.tagsKey = t;
        // a tag: the blueprints that have it
        r.tags.replaceChildren(...(b.tags || []).flatMap((x, i) => {
          const ln = h('a', {href: '#/agents?tags=' + encodeURIComponent(x)}, x);
          return i ? [', ', ln] : [ln];
        }));
        if (!t) setText(r.tags, '—');
      }
      setText(r.model, b.model || '—');
      const mcp = Object.keys(b.mcp_servers || {}).join(', ');
      setText(r.mcp, mcp || '—');
      setAttr(r.mcp, 'title', mcp || null);
      const hosts = (local ? a.hosts : takers(data.runners, b)).join(', ');
      const inactive = !local && b.status !== 'active';
      setText(r.runners, hosts || (inactive ? 'none: inactive' : 'none online'));
      setAttr(r.runners, 'title', local ? 'The online runners that offer it'
                                        : inactive ? 'An inactive blueprint takes no runs'
                                        : 'The online runners that take its runs: any of them (the run brings the blueprint)');
      r.runners.classList.toggle('none', !hosts);
      if (r.toggle) {
        const on = b.status === 'active';
        setText(r.toggle, on ? 'Disable' : 'Enable');
        setAttr(r.toggle, 'aria-label', `${on ? 'Disable' : 'Enable'} blueprint ${a.name}`);
        setAttr(r.del, 'aria-label', `Delete blueprint ${a.name}`);
        busy(r, !!r.busy);
      }
    },
  });

  const say = (by, kind, text) => {
    msgBy = by;
    if (kind) msg[kind](text); else msg.clear();
  };

  const render = () => {
    const reg = data.registry || [];
    // runner-local agents have no tags: a tag filter leaves them out
    const filtered = !!tags && !!data.registry;
    const items = reg.map((bp) => ({kind: 'registry', name: bp.name, bp}));
    if (!filtered) for (const l of data.local) items.push({kind: 'local', name: l.name, hosts: l.hosts});
    list.set(items);
    const active = reg.filter((b) => b.status === 'active').length;
    const parts = [];
    if (data.registry) {
      parts.push(`${reg.length} blueprint${reg.length === 1 ? '' : 's'}, ${active} active`
                 + (filtered ? ', with the tags ' + tags.replace(/,/g, ', ') : ''));
    }
    if (!filtered) parts.push(`${data.local.length} runner-local`);
    setText(count, parts.join('; '));
    empty.hidden = items.length > 0;
    setText(empty, filtered ? 'No blueprint has every one of these tags.'
                            : 'No blueprints, and no online runner offers an agent of its own.');
  };

  const load = async () => {
    const want = tags;
    const got = await readAgents(ctx.signal, want);
    if (want !== tags) return;           // the filter changed meanwhile: read again
    data = got;
    tagsIn.disabled = !!got.unmounted;
    if (got.error) {
      say('load', 'error', got.error);
    } else if (got.unmounted) {
      say('load', 'note', `The blueprint registry is not mounted at ${new URL(config.agents).pathname} `
                          + `(${got.unmounted.message}): only the runners' own agents are listed.`);
    } else if (msgBy === 'load') {
      say('', null);
    }
    render();
  };

  const refresh = refresher(async () => {
    try { await load(); } catch (e) { if (!aborted(e)) say('load', 'error', e.message); }
  });

  // an action on a row's blueprint: req() makes it; after(registry,
  // answer) is the registry after it, shown until it is read again
  async function act(r, req, after) {
    busy(r, true);
    if (msgBy === 'action') say('', null);
    let ok = false;
    try {
      data.registry = after(data.registry || [], await req());
      ok = true;
    } catch (e) {
      if (aborted(e)) return false;
      say('action', 'error', `${r.a.name}: ${e.message}`);
    }
    busy(r, false);
    render();
    refresh.schedule();
    return ok;
  }

  async function setStatus(r) {
    const name = r.a.name;
    const status = r.a.bp.status === 'active' ? 'inactive' : 'active';
    if (await act(r, () => patch(path.agentStatus(name), {status}, {signal: ctx.signal}),
                  (reg, bp) => reg.map((b) => (b.name === name && bp ? bp : b)))) {
      toast(`${name}: ${status}`);
    }
  }

  async function remove(r) {
    const name = r.a.name;
    if (!window.confirm(`Delete blueprint ${name} from the registry?`)) return;
    const i = [...tbody.children].indexOf(r.el);
    if (!await act(r, () => del(path.agent(name), {signal: ctx.signal}),
                   (reg) => reg.filter((b) => b.name !== name))) return;
    toast(`${name}: deleted`);
    // the keyboard's focus goes to the row that took its place
    if (!r.el.isConnected && (!document.activeElement || document.activeElement === document.body)) {
      const btns = [...tbody.querySelectorAll('button.toggle')];
      (btns[Math.min(i, btns.length - 1)] || tagsIn).focus();
    }
  }

  let typing = null;
  tagsIn.addEventListener('input', () => {
    clearTimeout(typing);
    typing = setTimeout(() => {
      tags = splitTags(tagsIn.value);
      const p = new URLSearchParams();
      if (tags) p.set('tags', tags);
      ctx.replaceQuery(p);
      refresh.schedule();
    }, 300);
  });

  refresh.now();

  return {
    onEvent(ev) { if (ev.type.startsWith('launcher.') || ev.type.startsWith('agent.')) refresh.schedule(); },
    refresh() { refresh.schedule(); },
    destroy() { refresh.cancel(); clearTimeout(typing); },
  };
}
