// #/new: start a session (POST {runs} with type start_session), then show
// its run. The agents offered: the registry's active blueprints and the
// agents the online runners offer of their own, each once.

import {h, messageArea, refresher} from './dom.js';
import {path, post, aborted} from './api.js';
import {readAgents} from './view-agents.js';

const NAME = '[A-Za-z0-9][A-Za-z0-9_.\\-]*';

export default function newView(root, params, ctx) {
  const field = (id, label, input, hint, wide) => h('div', {class: wide ? 'field wide' : 'field'},
    h('label', {for: id}, label), input,
    hint ? h('p', {class: 'hint', id: id + '-hint'}, hint) : null);

  const name = h('input', {id: 'n-name', name: 'session_name', required: true, maxlength: '60',
                           pattern: NAME, autocomplete: 'off', spellcheck: 'false',
                           'aria-describedby': 'n-name-hint'});
  const agent = h('select', {id: 'n-agent', name: 'agent_name', 'aria-describedby': 'n-agent-hint'},
                  h('option', {value: ''}, 'any'));
  const dir = h('input', {id: 'n-dir', name: 'project_dir', pattern: '/.*', autocomplete: 'off',
                          spellcheck: 'false', placeholder: '/srv/app', 'aria-describedby': 'n-dir-hint'});
  const parent = h('input', {id: 'n-parent', name: 'parent_session_name', maxlength: '60',
                             pattern: NAME, autocomplete: 'off', spellcheck: 'false',
                             'aria-describedby': 'n-parent-hint'});
  const prompt = h('textarea', {id: 'n-prompt', name: 'prompt', rows: '6', required: true});
  const tags = h('input', {id: 'n-tags', name: 'tags', autocomplete: 'off', spellcheck: 'false',
                           placeholder: 'gpu, linux', 'aria-describedby': 'n-tags-hint'});
  const submit = h('button', {type: 'submit'}, 'Start session');
  const msg = messageArea();
  const form = h('form', {class: 'newform'},
    field('n-name', 'Session name', name, '1-60 letters, digits, "_", "." or "-", starting with a letter or digit'),
    field('n-agent', 'Agent', agent, 'The registry\'s active blueprints and the online runners\' own agents; "any": the run names no agent'),
    field('n-dir', 'Project dir', dir, 'Optional: an absolute path; else the runner\'s own'),
    field('n-parent', 'Parent session', parent, 'Optional: the session this one reports to when its runs end'),
    field('n-tags', 'Tags', tags, 'Optional, comma-separated: only a runner with every one of them takes the run'),
    field('n-prompt', 'Prompt', prompt, null, true),
    h('div', {class: 'formrow wide'}, submit, msg.el));

  root.append(h('div', {class: 'head'}, h('h1', {}, 'New session')), form);

  // the options as [value, text, title, group], and those shown
  let shown = '';
  const loadAgents = refresher(async () => {
    try {
      const a = await readAgents(ctx.signal);
      const reg = a.registry || [];
      const cut = (t) => (t.length > 80 ? t.slice(0, 79) + '…' : t);
      const list = [
        ...reg.filter((b) => b.status === 'active')
          .map((b) => [b.name, `${b.name} — ${cut(b.description || '')}`, b.description, 'Registry blueprints']),
        ...a.local.map((l) => [l.name, l.name, 'Offered by ' + l.hosts.join(', '), 'Runner-local']),
      ];
      const keep = agent.value;
      // a chosen agent no longer offered stays choosable, as such
      if (keep && !list.some((o) => o[0] === keep)) {
        const off = reg.find((b) => b.name === keep);
        list.push([keep, keep + (off ? ` (${off.status})` : ' (no online runner)'), null, null]);
      }
      const sig = JSON.stringify(list);
      if (sig !== shown) {
        shown = sig;
        const groups = new Map();
        const opts = [h('option', {value: ''}, 'any')];
        for (const [value, text, title, group] of list) {
          const o = h('option', {value, title}, text);
          if (!group) { opts.push(o); continue; }
          if (!groups.has(group)) opts.push(groups.set(group, h('optgroup', {label: group})).get(group));
          groups.get(group).append(o);
        }
        agent.replaceChildren(...opts);
        agent.value = keep;
      }
      if (a.error) msg.error(a.error);
    } catch (e) {
      if (!aborted(e)) msg.error(e.message);
    }
  });

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    msg.clear();
    const body = {type: 'start_session', session_name: name.value.trim(), prompt: prompt.value};
    if (agent.value) body.agent_name = agent.value;
    if (dir.value.trim()) body.project_dir = dir.value.trim();
    if (parent.value.trim()) body.parent_session_name = parent.value.trim();
    const t = tags.value.split(',').map((s) => s.trim()).filter(Boolean);
    if (t.length) body.demands = {tags: t};
    submit.disabled = true;
    try {
      const j = await post(path.runs(), body, {signal: ctx.signal});
      ctx.navigate('#/runs/' + encodeURIComponent(j.run_id));
    } catch (err) {
      if (!aborted(err)) msg.error(err.message);
      submit.disabled = false;
    }
  });

  loadAgents.now();
  name.focus();
  // the agents offered change with the runners and with the registry
  return {
    onEvent(ev) { if (ev.type.startsWith('launcher.') || ev.type.startsWith('agent.')) loadAgents.schedule(); },
    refresh() { loadAgents.schedule(); },
    destroy() { loadAgents.cancel(); },
  };
}
