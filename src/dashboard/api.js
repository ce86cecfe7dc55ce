// The coordinator's HTTP API: the paths come from config.json (next to
// index.html), every call is same-origin (auth_basic credentials go along
// by themselves), and an error answer's {"detail": ...} becomes an
// ApiError whose message is that detail.

export class ApiError extends Error {
  constructor(message, status) {
    super(message);
    this.status = status;
  }
}

export const config = {runs: '/runs', sessions: '/sessions',
                       launchers: '/launchers', events: '/events', agents: '/agents'};

// server time minus local time (ms), from the Date header of answers:
// live durations are counted with it
export let clockSkew = 0;

// URLs are made absolute from the page's origin and path, never from its
// full address: one opened as http://user:password@host/... would make
// every request's URL carry the credentials, which fetch refuses
const here = () => location.origin + location.pathname;

export async function loadConfig() {
  let res;
  try {
    res = await fetch(new URL('config.json', here()).href, {cache: 'no-store'});
  } catch (e) {
    throw new ApiError('config.json could not be read: ' + e.message, 0);
  }
  if (!res.ok) throw new ApiError(`config.json: HTTP ${res.status}`, res.status);
  let c;
  try { c = await res.json(); } catch (e) {
    throw new ApiError('config.json is not JSON', res.status);
  }
  for (const k of Object.keys(config)) {
    const v = typeof c[k] === 'string' && c[k] !== '' ? c[k] : config[k];
    config[k] = new URL(v.replace(/\/+$/, '') || '/', here()).href;
  }
  return config;
}

const enc = encodeURIComponent;

export const path = {
  runs: (q) => config.runs + query(q),
  run: (id) => `${config.runs}/${enc(id)}`,
  runStop: (id) => `${config.runs}/${enc(id)}/stop`,
  runLog: (id, q) => `${config.runs}/${enc(id)}/log` + query(q),
  sessions: (q) => config.sessions + query(q),
  session: (id) => `${config.sessions}/${enc(id)}`,
  sessionByName: (name) => `${config.sessions}/by-name/${enc(name)}`,
  sessionRuns: (id) => `${config.sessions}/${enc(id)}/runs`,
  sessionStop: (id) => `${config.sessions}/${enc(id)}/stop`,
  launchers: () => config.launchers,
  launcher: (id) => `${config.launchers}/${enc(id)}`,
  agents: (q) => config.agents + query(q),
  agent: (name) => `${config.agents}/${enc(name)}`,
  agentStatus: (name) => `${config.agents}/${enc(name)}/status`,
};

function query(q) {
  if (!q) return '';
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) {
    if (v !== undefined && v !== null && v !== '') p.set(k, String(v));
  }
  const s = p.toString();
  return s ? '?' + s : '';
}

// the message of an error answer: its detail, else its status line
export async function errorOf(res) {
  let detail = null;
  try {
    const text = await res.text();
    const j = JSON.parse(text);
    if (j && j.detail !== undefined) {
      detail = typeof j.detail === 'string' ? j.detail : JSON.stringify(j.detail);
    }
  } catch (e) { /* not JSON */ }
  return new ApiError(detail ?? `HTTP ${res.status} ${res.statusText}`.trim(), res.status);
}

function noteClock(res) {
  const d = Date.parse(res.headers.get('Date') || '');
  // the Date header has whole seconds: only a skew over 2 s is believed
  if (!Number.isNaN(d)) {
    const s = d - Date.now();
    clockSkew = Math.abs(s) > 2000 ? s : 0;
  }
}

// request(method, url, body?, {signal}) -> the answer's JSON (null for none)
export async function request(method, url, body, opts = {}) {
  const init = {method, signal: opts.signal, cache: 'no-store', headers: {}};
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  init.headers.Accept = 'application/json';
  let res;
  try {
    res = await fetch(url, init);
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new ApiError('The coordinator could not be reached: ' + e.message, 0);
  }
  noteClock(res);
  if (!res.ok) throw await errorOf(res);
  const text = await res.text();
  if (!text) return null;
  try { return JSON.parse(text); } catch (e) {
    throw new ApiError(`${method} ${url}: the answer is not JSON`, res.status);
  }
}

export const get = (url, opts) => request('GET', url, undefined, opts);
export const post = (url, body, opts) => request('POST', url, body, opts);
export const patch = (url, body, opts) => request('PATCH', url, body, opts);
export const del = (url, opts) => request('DELETE', url, undefined, opts);

// an aborted request is not an error worth showing
export const aborted = (e) => e && e.name === 'AbortError';
