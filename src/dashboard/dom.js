// DOM and formatting helpers. Text is only ever inserted as text nodes
// (textContent): nothing from the API is parsed as HTML.

// h('a', {href: '#/runs', class: 'x'}, 'text', child, ...): an element.
// Attributes: strings set with setAttribute; 'on*' functions become
// listeners; boolean true sets an empty attribute, false/null/undefined
// leave it out. Children: nodes, strings (text nodes), null (skipped),
// arrays (flattened).
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') {
      el.addEventListener(k.slice(2), v);
    } else if (k === 'dataset') {
      Object.assign(el.dataset, v);
    } else if (v === true) {
      el.setAttribute(k, '');
    } else {
      el.setAttribute(k, String(v));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else if (c instanceof Node) el.append(c);
    else el.append(document.createTextNode(String(c)));
  }
}

// sets an element's text only when it changed (no needless reflow)
export function setText(el, text) {
  const t = text === null || text === undefined ? '' : String(text);
  if (el.textContent !== t) el.textContent = t;
}

export function setAttr(el, name, value) {
  if (value === null || value === undefined || value === false) {
    if (el.hasAttribute(name)) el.removeAttribute(name);
  } else {
    const v = value === true ? '' : String(value);
    if (el.getAttribute(name) !== v) el.setAttribute(name, v);
  }
}

// makes parent's element children exactly `nodes`, in that order,
// moving only those out of place (a focused element that stays in place
// keeps its focus)
export function syncChildren(parent, nodes) {
  let i = 0;
  for (const n of nodes) {
    const at = parent.children[i];
    if (at !== n) parent.insertBefore(n, at || null);
    i++;
  }
  while (parent.children.length > nodes.length) {
    parent.lastElementChild.remove();
  }
}

// hash links
export const link = {
  run: (id) => '#/runs/' + encodeURIComponent(id),
  sessions: () => '#/sessions',
  session: (id) => '#/sessions/' + encodeURIComponent(id),
  new: () => '#/new',
};

export const TERMINAL = new Set(['completed', 'failed', 'stopped']);
export const RUN_STATUSES = ['pending', 'claimed', 'running', 'stopping',
                             'completed', 'failed', 'stopped'];
export const SESSION_STATUSES = ['pending', 'running', 'stopping',
                                 'finished', 'failed', 'stopped'];

export function statusBadge(status) {
  const s = status || 'unknown';
  return h('span', {class: 'badge st-' + s.replace(/[^a-z]/g, '')}, s);
}

export function updateBadge(el, status) {
  const s = status || 'unknown';
  setText(el, s);
  const cls = 'badge st-' + s.replace(/[^a-z]/g, '');
  if (el.className !== cls) el.className = cls;
}

// "2026-11-24T10:00:01.250Z" -> milliseconds, or NaN
export function ms(t) {
  return t ? Date.parse(t) : NaN;
}

const pad = (n, w = 2) => String(n).padStart(w, '0');

// a time as local "YYYY-MM-DD HH:MM:SS" ('' for none)
export function fmtTime(t) {
  const v = ms(t);
  if (Number.isNaN(v)) return '';
  const d = new Date(v);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
         `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

// a <time> element: local time shown, the API's text in its title
export function timeEl(t) {
  const el = h('time');
  updateTime(el, t);
  return el;
}

export function updateTime(el, t) {
  setText(el, fmtTime(t) || '—');
  setAttr(el, 'datetime', t || null);
  setAttr(el, 'title', t || null);
}

// a duration in seconds as "0.8 s", "42 s", "3 m 05 s", "2 h 07 m"
export function fmtDuration(sec) {
  if (!Number.isFinite(sec) || sec < 0) return '';
  if (sec < 10) return sec.toFixed(1) + ' s';
  if (sec < 60) return Math.floor(sec) + ' s';
  const m = Math.floor(sec / 60);
  if (m < 60) return `${m} m ${pad(Math.floor(sec % 60))} s`;
  const hr = Math.floor(m / 60);
  if (hr < 48) return `${hr} h ${pad(m % 60)} m`;
  return `${Math.floor(hr / 24)} d ${pad(hr % 24)} h`;
}

// a run's duration: from its start to its end, or to now while it is
// live; '' when it never started. `skew`: server time minus local time
// (ms), so that a live run's duration is not off by the clocks' difference.
export function runDuration(run, skew = 0) {
  const from = ms(run.started_at);
  if (Number.isNaN(from)) return '';
  let to = ms(run.completed_at);
  if (Number.isNaN(to)) {
    if (TERMINAL.has(run.status)) return '';
    to = Date.now() + skew;
  }
  return fmtDuration(Math.max(0, to - from) / 1000);
}

// fn() at most once per `wait` ms, never two at once; a call while one
// runs schedules one more afterwards. Returns {schedule, now, cancel}.
export function refresher(fn, wait = 250) {
  let timer = null, running = false, again = false, last = 0, dead = false;
  const run = async () => {
    timer = null;
    if (dead) return;
    if (running) { again = true; return; }
    running = true;
    last = Date.now();
    try { await fn(); } catch (e) { console.error(e); }
    running = false;
    if (again && !dead) { again = false; schedule(); }
  };
  const schedule = () => {
    if (dead || timer) return;
    if (running) { again = true; return; }
    timer = setTimeout(run, Math.max(0, last + wait - Date.now()));
  };
  return {
    schedule,
    now: () => { if (timer) { clearTimeout(timer); timer = null; } return run(); },
    cancel: () => { dead = true; if (timer) clearTimeout(timer); },
  };
}

// a fixed-size area for messages (role=status or alert) whose text can
// be set without moving what is around it
export function messageArea(role = 'alert') {
  const el = h('p', {class: 'msg', role});
  return {
    el,
    error(text) { el.classList.remove('ok'); el.classList.add('err'); setText(el, text); },
    ok(text) { el.classList.remove('err'); el.classList.add('ok'); setText(el, text); },
    note(text) { el.classList.remove('err', 'ok'); setText(el, text); },
    clear() { el.classList.remove('err', 'ok'); setText(el, ''); },
  };
}

// toasts: short messages at the bottom right, over the page (they never
// move the layout)
let toastBox = null;
export function toast(text, kind = 'ok') {
  if (!toastBox) {
    toastBox = h('div', {class: 'toasts', role: 'status', 'aria-live': 'polite'});
    document.body.append(toastBox);
  }
  const t = h('div', {class: 'toast ' + kind}, text);
  toastBox.append(t);
  setTimeout(() => t.remove(), kind === 'err' ? 8000 : 4000);
}

// what a callback run ("callback": true, made by the coordinator) reports:
// the child runs, as [{session, run, outcome}], read from its prompt
// (docs/CALLBACKS.md); [] for any other run, whatever its prompt says
export function callbackReports(run) {
  const out = [];
  const prompt = run && run.callback === true ? run.prompt : null;
  if (typeof prompt !== 'string' || !prompt.startsWith('[child session "')) return out;
  const re = /^\[child session "([^"\n]*)" run (run_[0-9a-f]+) (completed|failed|stopped)\]$/gm;
  let m;
  while ((m = re.exec(prompt)) !== null) {
    const end = prompt.indexOf(`\n[end of run ${m[2]}]`, m.index);
    if (end < 0) break;
    out.push({session: m[1], run: m[2], outcome: m[3]});
    re.lastIndex = end + 1;
  }
  return out;
}

// a run's type in short: start, resume or callback
export function runKind(run) {
  if (run.type === 'start_session') return 'start';
  if (run.callback === true) return 'callback';
  return run.type === 'resume_session' ? 'resume' : (run.type || '?');
}

// rows (or items) kept by key and updated in place: set(items) makes the
// container's children the items' elements in that order, creating an
// element the first time a key is seen (create(item) -> {el, ...}) and
// calling update(row, item) every time
export function keyedList(container, {key, create, update}) {
  const rows = new Map();
  return {
    rows,
    set(items) {
      const seen = new Set();
      const nodes = items.map((it) => {
        const k = key(it);
        seen.add(k);
        let r = rows.get(k);
        if (!r) { r = create(it); rows.set(k, r); }
        update(r, it);
        return r.el;
      });
      for (const k of [...rows.keys()]) if (!seen.has(k)) rows.delete(k);
      syncChildren(container, nodes);
    },
  };
}

// newest first by created_at (RFC 3339 with milliseconds: text order is
// time order), then by the order given
export function newestFirst(items) {
  return items.map((it, i) => [it, i])
    .sort((a, b) => (b[0].created_at || '').localeCompare(a[0].created_at || '') || b[1] - a[1])
    .map((p) => p[0]);
}
