// The dashboard: hash routes, one view at a time, one change stream for
// the whole page.
//
// A view is made by mount(root, params, ctx) and answers {onEvent(event),
// refresh(), destroy()}: onEvent is given every change event (it fetches
// what the event touches, at most every 250 ms); refresh() reads all the
// view shows again, for an event `reset`, a change stream made again, and
// every 5 s while the stream is down.

import {loadConfig, config} from './api.js';
import {connectEvents} from './events.js';
import {h, setText} from './dom.js';
import runsView from './view-runs.js';
import runView from './view-run.js';
import sessionsView from './view-sessions.js';
import sessionView from './view-session.js';
import treeView from './view-tree.js';
import runnersView from './view-runners.js';
import newView from './view-new.js';
import agentsView from './view-agents.js';

const ROUTES = [
  [/^\/runs$/, runsView, 'runs'],
  [/^\/runs\/([^/]+)$/, runView, 'runs'],
  [/^\/sessions$/, sessionsView, 'sessions'],
  [/^\/sessions\/([^/]+)$/, sessionView, 'sessions'],
  [/^\/tree$/, treeView, 'tree'],
  [/^\/runners$/, runnersView, 'runners'],
  [/^\/agents$/, agentsView, 'agents'],
  [/^\/new$/, newView, 'new'],
];

const TITLES = {runs: 'Runs', sessions: 'Sessions', tree: 'Tree', runners: 'Runners',
                agents: 'Blueprints', new: 'New session'};

const main = document.getElementById('main');
const conn = document.getElementById('conn');
const connText = conn.querySelector('.conn-text');
let current = null;            // {view, ctl, route}
let stream = null;
let pollTimer = null;
let mounted = false;           // a view was shown before this one

function parseHash() {
  const raw = location.hash.replace(/^#/, '') || '/runs';
  const q = raw.indexOf('?');
  const p = q < 0 ? raw : raw.slice(0, q);
  const query = new URLSearchParams(q < 0 ? '' : raw.slice(q + 1));
  return {path: p, query};
}

function mount() {
  if (current) {
    current.ctl.abort();
    try { current.view.destroy(); } catch (e) { console.error(e); }
    current = null;
  }
  const {path: p, query} = parseHash();
  let found = null;
  for (const [re, fn, section] of ROUTES) {
    const m = re.exec(p);
    if (m) { found = {fn, section, params: m.slice(1).map(decodeURIComponent)}; break; }
  }
  for (const a of document.querySelectorAll('nav a[data-section]')) {
    if (found && a.dataset.section === found.section) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  const root = h('div', {class: 'view'});
  main.replaceChildren(root);
  if (!found) {
    document.title = 'Not found · runs';
    root.append(h('h1', {}, 'Not found'),
      h('p', {}, 'No page at ', h('code', {}, location.hash), '. ', h('a', {href: '#/runs'}, 'The runs')));
    return;
  }
  document.title = (TITLES[found.section] || 'runs') + ' · runs';
  const ctl = new AbortController();
  const ctx = {
    signal: ctl.signal,
    query,
    navigate(hash) { location.hash = hash; },
    // the view's filters in the address, without making the view again
    replaceQuery(params) {
      const s = params.toString();
      history.replaceState(null, '', '#' + p + (s ? '?' + s : ''));
    },
  };
  try {
    current = {view: found.fn(root, found.params, ctx), ctl, key: p};
  } catch (e) {
    console.error(e);
    root.append(h('p', {class: 'msg err', role: 'alert'}, 'This page failed: ' + e.message));
  }
  // a new page starts at its top, and the keyboard's focus with it
  // (unless the view put it somewhere, as the form does)
  window.scrollTo(0, 0);
  if (mounted && (!document.activeElement || document.activeElement === document.body)) {
    main.focus({preventScroll: true});
  }
  mounted = true;
}

function onEvent(ev) {
  if (!current || typeof ev.type !== 'string') return;
  try { current.view.onEvent(ev); } catch (e) { console.error(e); }
}

// `reset`: events were missed; the view reads everything again (in place:
// what is being typed and where the focus is stay)
function onReset() {
  if (current) current.view.refresh();
}

const STATES = {
  connecting: 'connecting…',
  live: 'live',
  reconnecting: 'reconnecting…',
  offline: 'offline: refreshing every 5 s',
};

function onState(state) {
  conn.dataset.state = state;
  setText(connText, STATES[state] || state);
  conn.title = state === 'live' ? `Changes arrive as they happen (${config.events})`
                                : `The change stream (${config.events}) is not connected`;
  // while the stream is down, the view is read again every 5 s
  if (state === 'live') {
    clearInterval(pollTimer);
    pollTimer = null;
  } else if (!pollTimer && state !== 'connecting') {
    pollTimer = setInterval(() => { if (current) current.view.refresh(); }, 5000);
  }
}

async function start() {
  try {
    await loadConfig();
  } catch (e) {
    main.replaceChildren(h('div', {class: 'view'}, h('h1', {}, 'The dashboard could not start'),
      h('p', {class: 'msg err', role: 'alert'}, e.message)));
    onState('offline');
    return;
  }
  window.addEventListener('hashchange', mount);
  // the skip link moves the focus; it does not change the route
  document.querySelector('.skip').addEventListener('click', (e) => {
    e.preventDefault();
    main.focus();
  });
  mount();
  stream = connectEvents(config.events, {onEvent, onReset, onState});
}

start();
