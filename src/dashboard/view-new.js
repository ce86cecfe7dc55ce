// #/new: start a session (POST {runs} with type start_session), then show
// its run.

import {h, messageArea, refresher} from './dom.js';
import {path, get, post, aborted} from './api.js';

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
    field('n-agent', 'Agent', agent, 'The agents of the online runners; "any": the run names no agent'),
    field('n-dir', 'Project dir', dir, 'Optional: an absolute path; else the runner\'s own'),
    field('n-parent', 'Parent session', parent, 'Optional: the session this one reports to when its runs end'),
    field('n-tags', 'Tags', tags, 'Optional, comma-separated: only a runner with every one of them takes the run'),
    field('n-prompt', 'Prompt', prompt, null, true),
    h('div', {class: 'formrow wide'}, submit, msg.el));

  root.append(h('div', {class: 'head'}, h('h1', {}, 'New session')), form);

  const loadAgents = refresher(async () => {
    try {
      const j = await get(path.launchers(), {signal: ctx.signal});
      const names = new Set();
      for (const l of j.launchers || []) {
        if (l.status === 'online' && !l.deregistering) for (const a of l.agents || []) names.add(a);
      }
      const keep = agent.value;
      const opts = [h('option', {value: ''}, 'any'),
                    ...[...names].sort().map((a) => h('option', {value: a}, a))];
      // a chosen agent that no online runner lists any more stays choosable
      if (keep && !names.has(keep)) opts.push(h('option', {value: keep}, keep + ' (no online runner)'));
      agent.replaceChildren(...opts);
      agent.value = keep;
    } catch (e) {
      if (!aborted(e)) msg.error('Runners: ' + e.message);
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

  return {
    onEvent(ev) { if (ev.type.startsWith('launcher.')) loadAgents.schedule(); },
    refresh() { loadAgents.schedule(); },
    destroy() { loadAgents.cancel(); },
  };
}
