// The dashboard driven in a real browser (Debian's chromium, headless,
// through puppeteer-core) against a running coordinator with a runner of
// the echo executor. It prints one TAP line per step and exits 1 when a
// step failed (2 when it could not run at all).
//
//   node t/browser/dashboard.mjs --base http://127.0.0.1:8765/dashboard/ \
//       --out build [--chromium /usr/bin/chromium] [--agent coder] \
//       [--spare HOSTNAME] [--any HOSTNAME] [--prefix NAME] [--timeout SECONDS] \
//       [--wait SECONDS]
//
// --agent: an agent the runners list (the runs started here name it);
// it is not in the blueprint registry (config.json's "agents"), and the
// test puts it there for a while;
// --spare: the hostname of a runner that the runners page deregisters;
// --runners: the hostnames of the runners online, comma-separated (each
// takes the runs of the registry's active blueprints: such a run demands
// no agent of its runner);
// --prefix: the start of the session and blueprint names made here
// (unique per run); the blueprints PREFIX-writer and PREFIX-old are made
// in the registry before the browser starts;
// --base may carry credentials (http://user:password@host/...): the
// browser's own, as for a dashboard behind auth_basic;
// --timeout: for the whole test; --wait: the longest wait for one thing
// to show on a page (15 s; more for a slow coordinator).
// Screenshots of each page: <out>/dashboard-<page>.png.

import puppeteer from 'puppeteer-core';
import fs from 'node:fs';
import path from 'node:path';

const argv = process.argv.slice(2);
const opt = {base: '', out: 'build', chromium: '/usr/bin/chromium', agent: 'coder',
             spare: '', runners: '', prefix: 'dash' + process.pid, timeout: '180', wait: '15'};
for (let i = 0; i < argv.length; i++) {
  const m = /^--([a-z]+)$/.exec(argv[i]);
  if (!m || !(m[1] in opt) || i + 1 >= argv.length) {
    console.error('usage: dashboard.mjs --base URL [--out DIR] [--chromium PATH] [--agent NAME] '
                  + '[--spare HOST] [--runners HOST,...] [--prefix NAME] [--timeout S] [--wait S]');
    process.exit(2);
  }
  opt[m[1]] = argv[++i];
}
if (!opt.base) { console.error('dashboard.mjs: --base is required'); process.exit(2); }
const runnerHosts = opt.runners ? opt.runners.split(',').sort() : [];
const base = opt.base.endsWith('/') ? opt.base : opt.base + '/';
fs.mkdirSync(opt.out, {recursive: true});

const STEPS = [
  'the dashboard loads: config.json read, the change stream live',
  'the new session form lists the online runners\' agents',
  'a session started from the form opens its run',
  'the run appears in the runs table without a reload, and completes there',
  'its page shows the result and the log',
  'an API error is shown with its detail',
  'a slow run\'s log streams on its page',
  'Stop on its page stops it',
  'the runs table filters by status and session name',
  'the session resumed from its page',
  'the tree shows a child under its parent, live, with its status and callback (and no client run as one)',
  'the sessions page lists the sessions and their parents',
  'Delete on a session\'s page removes it, after a confirmation',
  'the blueprints page lists the registry\'s blueprints (description, tags, model, MCP servers, runners) and the runners\' own agents as runner-local',
  'the blueprints page filters by tags, from its field or a tag\'s link, in its address',
  'Disable on the blueprints page (from the keyboard) makes a blueprint inactive (it lists no runners then), and the API says so',
  'the new session form offers the active blueprints with their descriptions and the runners\' own agents, each once, not the inactive one',
  'a session started from the form with a registry blueprint runs on one of the runners its row lists',
  'Delete on the blueprints page removes a blueprint, after a confirmation',
  'a blueprint made elsewhere shows live (its agent.created event), no longer as runner-local, and once in the form',
  'an action on a blueprint deleted elsewhere shows the API\'s detail, and the page drops it',
  'the runners page lists the runners',
  'Deregister on the runners page removes the runner',
  'the blueprints page follows the runners: the runner that left is no longer among a blueprint\'s runners',
  'the registry not mounted (404, 405): the page says so, the page and the form list the runners\' own agents only',
  'no script error in the pages',
];

let n = 0;
let failed = 0;
console.log(`1..${STEPS.length}`);

function report(ok, name, diag) {
  n++;
  if (!ok) failed++;
  console.log(`${ok ? 'ok' : 'not ok'} ${n} - ${name}`);
  if (diag) for (const l of String(diag).split('\n')) console.log('# ' + l);
}

// the steps left when the time is up
const watchdog = setTimeout(() => {
  for (let i = n; i < STEPS.length; i++) report(false, STEPS[i], i === n ? `no time left (--timeout ${opt.timeout})` : '');
  try { browser.process().kill('SIGKILL'); } catch (e) { /* not started */ }
  process.exit(1);
}, Number(opt.timeout) * 1000);

const pageErrors = [];
const dialogs = [];
const W = Number(opt.wait) * 1000;     // the longest wait for one thing to show

async function step(i, fn) {
  const name = STEPS[i];
  if (n !== i) throw new Error(`step ${i} out of order`);
  try {
    const extra = await fn();
    report(true, name, extra);
  } catch (e) {
    report(false, name, e && e.stack ? e.stack.split('\n').slice(0, 3).join('\n') : String(e));
  }
}

// input and screenshots go to the page in front (a page in the background
// is not painted: puppeteer's clicks and screenshots wait for a frame)
let inFront = null;
async function front(page) {
  if (inFront !== page) { await page.bringToFront(); inFront = page; }
}
const click = async (page, sel) => { await front(page); await page.click(sel); };

async function shot(page, name) {
  try {
    await front(page);
    await page.screenshot({path: path.join(opt.out, `dashboard-${name}.png`)});
  } catch (e) {
    console.log(`# screenshot ${name}: ${e.message}`);
  }
}

async function open(page, hash) {
  await page.goto(base + hash, {waitUntil: 'domcontentloaded'});
  await page.waitForSelector('#main .view', {timeout: W});
}

async function go(page, hash) {
  await page.evaluate((h) => { location.hash = h; }, hash);
  await page.waitForFunction((h) => location.hash === h && document.querySelector('#main .view'), {timeout: W, polling: 100}, hash);
}

// the text of the first element matching sel, or null
const text = (page, sel) => page.$eval(sel, (e) => e.textContent).catch(() => null);

async function waitText(page, sel, want, timeout = W) {
  try {
    // a RegExp goes to the page as its source
    const w = want instanceof RegExp ? {re: want.source, flags: want.flags} : {text: want};
    await page.waitForFunction((s, w) => {
      const e = document.querySelector(s);
      return e && (w.re !== undefined ? new RegExp(w.re, w.flags).test(e.textContent) : e.textContent.includes(w.text));
    }, {timeout, polling: 100}, sel, w);
  } catch (e) {
    throw new Error(`waited ${timeout} ms for ${sel} to show ${want}; it shows: ${JSON.stringify(await text(page, sel))}`);
  }
}

// a form field set as typed
async function fill(page, sel, value) {
  await front(page);
  await page.$eval(sel, (e) => { e.value = ''; });
  await page.type(sel, value);
}

async function newSession(page, {name, prompt, agent, parent, tags}) {
  await go(page, '#/new');
  await page.waitForSelector(`#n-agent option[value="${agent}"]`, {timeout: W});
  await fill(page, '#n-name', name);
  await front(page);
  await page.select('#n-agent', agent);
  if (parent) await fill(page, '#n-parent', parent);
  if (tags) await fill(page, '#n-tags', tags);
  await fill(page, '#n-prompt', prompt);
  await click(page, 'form.newform button[type=submit]');
  await page.waitForFunction(() => /^#\/runs\/run_[0-9a-f]+$/.test(location.hash), {timeout: W, polling: 100});
  return page.evaluate(() => decodeURIComponent(location.hash.slice('#/runs/'.length)));
}

const badge = (page) => text(page, '.head .badge');

// the API from here (node's fetch takes no credentials in a URL: those
// of --base go as a header): {status, json}
const baseURL = new URL(base);
const authHeader = baseURL.username
  ? 'Basic ' + Buffer.from(`${decodeURIComponent(baseURL.username)}:${decodeURIComponent(baseURL.password)}`).toString('base64')
  : null;
baseURL.username = baseURL.password = '';
async function api(method, where, body) {
  const headers = {Accept: 'application/json'};
  if (authHeader) headers.Authorization = authHeader;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const r = await fetch(new URL(where, baseURL), {method, headers,
                                                  body: body === undefined ? undefined : JSON.stringify(body)});
  const t = await r.text();
  let json = null;
  try { json = t ? JSON.parse(t) : null; } catch (e) { json = t; }
  return {status: r.status, json};
}

// the two blueprints of the registry, made before the browser starts: one
// with tags, a model and MCP servers; one that the page disables, then
// deletes (its description is not HTML)
const writer = `${opt.prefix}-writer`, old = `${opt.prefix}-old`;
const BLUEPRINTS = [
  {name: writer, description: 'Writes the release notes from the changelog', system_prompt: 'Be brief.',
   tags: ['linux', 'docs'], model: 'sonnet',
   mcp_servers: {fs: {command: 'npx', args: ['-y', '@x/fs']},
                 orchestrator: {type: 'http', url: 'http://127.0.0.1:9/mcp',
                                headers: {'X-Agent-Session-Name': '${AGENT_SESSION_NAME}'}}}},
  {name: old, description: 'Reviews <em>pull requests</em> & diffs', tags: ['review']},
];
let cfgPaths = null, setupError = null;
try {
  const c = await api('GET', 'config.json');
  if (c.status !== 200 || typeof c.json.agents !== 'string') throw new Error(`config.json: ${c.status} ${JSON.stringify(c.json)}`);
  cfgPaths = c.json;
  for (const b of BLUEPRINTS) {
    let r = await api('POST', cfgPaths.agents, b);
    if (r.status === 409) {            // left by an earlier run of the same --prefix
      await api('DELETE', `${cfgPaths.agents}/${b.name}`);
      r = await api('POST', cfgPaths.agents, b);
    }
    if (r.status !== 201) throw new Error(`POST ${cfgPaths.agents} (${b.name}): ${r.status} ${JSON.stringify(r.json)}`);
  }
} catch (e) {
  setupError = 'the blueprints could not be made: ' + e.message;
  console.log('# ' + setupError);
}
const needBlueprints = () => { if (setupError) throw new Error(setupError); };
const agentPath = (name) => `${cfgPaths.agents}/${encodeURIComponent(name)}`;

// two pages at once, both live: neither is slowed down in the background
const launchArgs = ['--disable-dev-shm-usage', '--disable-gpu', '--no-first-run',
                    '--no-default-browser-check', '--disable-extensions',
                    '--disable-background-timer-throttling', '--disable-renderer-backgrounding',
                    '--disable-backgrounding-occluded-windows'];
if (process.getuid && process.getuid() === 0) launchArgs.push('--no-sandbox');

const launch = (args) => puppeteer.launch({executablePath: opt.chromium, headless: true, args,
                                           timeout: 60000, defaultViewport: {width: 1366, height: 768}});
let browser;
try {
  browser = await launch(launchArgs);
} catch (e) {
  // chromium's sandbox needs user namespaces, which a container may not
  // give; the page under test is the coordinator's own
  console.log(`# chromium did not start (${e.message.split('\n')[0]}): once more with --no-sandbox`);
  try {
    browser = await launch([...launchArgs, '--no-sandbox']);
  } catch (e2) {
    console.log(`# chromium (${opt.chromium}) did not start: ${e2.message}`);
    for (let i = 0; i < STEPS.length; i++) report(false, STEPS[i]);
    process.exit(2);
  }
}

async function newPage(label) {
  const p = await browser.newPage();
  p.on('pageerror', (e) => pageErrors.push(`${label}: ${e.message}`));
  p.on('console', (m) => { if (m.type() === 'error' && !/Failed to load resource/.test(m.text())) pageErrors.push(`${label}: console: ${m.text()}`); });
  p.on('dialog', async (d) => { dialogs.push(d.message()); await d.accept(); });
  return p;
}

const A = await newPage('page A');     // watches: the runs table, the tree, ...
const B = await newPage('page B');     // acts: the form, a run's page
const one = `${opt.prefix}-one`, slow = `${opt.prefix}-slow`, kid = `${opt.prefix}-kid`;
let oneRun = null, slowRun = null;

// 1
await step(0, async () => {
  await open(A, '#/runs');
  await A.evaluate(() => { window.__notReloaded = true; });
  await A.waitForSelector('#conn[data-state="live"]', {timeout: W});
  // (from the page's origin and path: a base URL may carry credentials)
  const cfg = await A.evaluate(async () => (await fetch(new URL('config.json', location.origin + location.pathname))).json());
  for (const k of ['runs', 'sessions', 'launchers', 'events']) {
    if (typeof cfg[k] !== 'string') throw new Error(`config.json has no ${k}: ${JSON.stringify(cfg)}`);
  }
  await open(B, '#/runs');
  await B.waitForSelector('#conn[data-state="live"]', {timeout: W});
  await shot(A, 'runs-empty');
});

// 2
await step(1, async () => {
  await go(B, '#/new');
  await B.waitForSelector(`#n-agent option[value="${opt.agent}"]`, {timeout: W});
  const agents = await B.$$eval('#n-agent option', (os) => os.map((o) => o.value || 'any'));
  if (agents[0] !== 'any') throw new Error('the first choice is not "any": ' + agents.join(', '));
  const labels = await B.$$eval('form.newform input, form.newform select, form.newform textarea',
    (es) => es.filter((e) => !document.querySelector(`label[for="${e.id}"]`)).map((e) => e.id || e.name));
  if (labels.length) throw new Error('inputs without a label: ' + labels.join(', '));
  await shot(B, 'new');
  return `agents offered: ${agents.join(', ')}`;
});

// 3
await step(2, async () => {
  oneRun = await newSession(B, {name: one, agent: opt.agent, tags: 'linux', prompt: 'Say hello lines=3 over=0.3'});
  await waitText(B, '.head h1', oneRun);
  return `run ${oneRun}`;
});

// 4
await step(3, async () => {
  if (!oneRun) throw new Error('no run was started');
  const row = `tr[data-run="${oneRun}"]`;
  await A.waitForSelector(row, {timeout: W});
  await A.waitForSelector(`${row}[data-status="completed"]`, {timeout: W});
  if (!(await A.evaluate(() => window.__notReloaded === true))) throw new Error('page A was reloaded');
  const cells = await A.$$eval(`${row} td`, (tds) => tds.map((t) => t.textContent));
  if (cells[1] !== one || cells[2] !== 'start' || cells[3] !== opt.agent) throw new Error('row: ' + cells.join(' | '));
  await shot(A, 'runs');
  return 'row: ' + cells.join(' | ');
});

// 5
await step(4, async () => {
  await click(A, `tr[data-run="${oneRun}"] td a[href^="#/runs/"]`);
  await waitText(A, '.head h1', oneRun);
  await waitText(A, '.head .badge', 'completed');
  await waitText(A, 'pre.result', 'Say hello lines=3 over=0.3');
  await waitText(A, 'pre.log', 'log line 3 of 3');
  const res = await text(A, 'pre.result');
  if (res !== 'Say hello lines=3 over=0.3') throw new Error('result: ' + JSON.stringify(res));
  await shot(A, 'run');
});

// 6
await step(5, async () => {
  await go(B, '#/new');
  await B.waitForSelector(`#n-agent option[value="${opt.agent}"]`, {timeout: W});
  await fill(B, '#n-name', one);
  await fill(B, '#n-prompt', 'again');
  await click(B, 'form.newform button[type=submit]');
  const detail = await B.evaluate(async (name) => {
    const here = location.origin + location.pathname;
    const cfg = await (await fetch(new URL('config.json', here))).json();
    const r = await fetch(new URL(cfg.runs, here), {method: 'POST',
      headers: {'Content-Type': 'application/json'},
      body: JSON.stringify({type: 'start_session', session_name: name, prompt: 'again'})});
    return [r.status, (await r.json()).detail];
  }, one);
  if (detail[0] !== 409) throw new Error('the API answered ' + detail.join(' '));
  await waitText(B, 'form.newform .msg.err', detail[1]);
  return `shown: ${detail[1]}`;
});

// 7
await step(6, async () => {
  slowRun = await newSession(B, {name: slow, agent: opt.agent, prompt: 'lines=200 over=60'});
  await waitText(B, '.head .badge', 'running');
  await waitText(B, 'pre.log', 'log line 3 of 200');
  const before = (await text(B, 'pre.log')).length;
  await B.waitForFunction((b) => document.querySelector('pre.log').textContent.length > b, {timeout: W, polling: 100}, before);
  if ((await badge(B)) !== 'running') throw new Error('the run is ' + await badge(B));
  await shot(B, 'run-live');
});

// 8
await step(7, async () => {
  if (!slowRun) throw new Error('no slow run');
  await click(B, '.head .actions button.danger');
  await waitText(B, '.head .badge', 'stopped');
  await B.waitForSelector('.head .actions button.danger[disabled]', {timeout: W});
  const log = await text(B, 'pre.log');
  if (/log line 200 of 200/.test(log)) throw new Error('the run went to its end');
  return 'status: stopped';
});

// 9
await step(8, async () => {
  await go(A, '#/runs?status=stopped');
  await A.waitForSelector(`tr[data-run="${slowRun}"]`, {timeout: W});
  let rows = await A.$$eval('tbody tr', (trs) => trs.map((t) => t.dataset.status));
  if (rows.some((s) => s !== 'stopped')) throw new Error('status=stopped shows ' + rows.join(' '));
  await front(A);
  await A.select('#f-status', '');
  await fill(A, '#f-session', one);
  await A.waitForFunction((name) => {
    const trs = [...document.querySelectorAll('tbody tr')];
    return trs.length > 0 && trs.every((t) => t.children[1].textContent === name);
  }, {timeout: W, polling: 100}, one);
  rows = await A.$$eval('tbody tr', (trs) => trs.map((t) => t.dataset.run));
  if (!rows.includes(oneRun) || rows.includes(slowRun)) throw new Error('session filter shows ' + rows.join(' '));
  const hash = await A.evaluate(() => location.hash);
  if (hash !== `#/runs?session=${one}`) throw new Error('the filters are not in the address: ' + hash);
});

// 10
await step(9, async () => {
  await go(A, '#/runs/' + oneRun);
  await A.waitForSelector('dl.fields a[href^="#/sessions/"]', {timeout: W});
  await click(A, 'dl.fields a[href^="#/sessions/"]');
  await waitText(A, '.head h1', one);
  await A.waitForSelector(`li.run-item[data-run="${oneRun}"]`, {timeout: W});
  await fill(A, '#resume-prompt', 'Now say goodbye lines=2');
  await click(A, 'form.resume button[type=submit]');
  await A.waitForFunction(() => document.querySelectorAll('li.run-item').length === 2, {timeout: W, polling: 100});
  await waitText(A, 'li.run-item:nth-child(2) .badge', 'completed');
  await waitText(A, 'li.run-item:nth-child(2) pre.result', 'Now say goodbye lines=2');
  await click(A, 'li.run-item:nth-child(2) .run-head button');
  await waitText(A, 'li.run-item:nth-child(2) pre.log', 'log line 2 of 2');
  const kind = await text(A, 'li.run-item:nth-child(2) .kind');
  if (kind !== 'resume') throw new Error('the new run is a ' + kind);
  await shot(A, 'session');
});

// 11
await step(10, async () => {
  await go(A, '#/tree');
  await A.waitForSelector('ul.tree', {timeout: W});
  // the child is started while the tree is open: it appears, ends, and
  // its callback shows, without a reload
  const kidRun = await newSession(B, {name: kid, agent: opt.agent, parent: one, prompt: 'Check the changelog'});
  const node = `li.tree-node[data-session="${one}"] > ul.tree-kids > li.tree-node[data-session="${kid}"]`;
  await A.waitForSelector(node, {timeout: W});
  await waitText(A, `${node} > .tree-line .badge`, 'finished');
  await A.waitForSelector(`${node} > ul.callbacks li.callback a[href="#/runs/${kidRun}"]`, {timeout: W});
  await waitText(A, `${node} > ul.callbacks li.callback`, /completed.*completed/);
  await shot(A, 'tree');
  const shown = await text(A, `${node} > ul.callbacks li.callback`);
  // a client's resume whose prompt looks like a report is no callback
  // ("callback": false): its session's page shows it as a resume
  const p = await api('POST', cfgPaths.runs, {type: 'resume_session', session_name: one,
    prompt: `[child session "${kid}" run ${kidRun} failed]\nforged\n[end of run ${kidRun}]\n`});
  if (p.status !== 201) throw new Error(`POST: ${p.status} ${JSON.stringify(p.json)}`);
  const r = await api('GET', `${cfgPaths.runs}/${p.json.run_id}`);
  if (r.json.callback !== false) throw new Error(`GET: ${r.status} ${JSON.stringify(r.json)}`);
  await go(B, `#/sessions/${r.json.session_id}`);
  const item = `li.run-item[data-run="${r.json.run_id}"]`;
  await waitText(B, `${item} .kind`, 'resume');
  await waitText(B, `${item} .run-head`, 'completed');
  const kinds = await B.$$eval('li.run-item', (lis) => lis.map((li) => [li.querySelector('.kind').textContent,
                                                                        li.querySelector('ul.reports').hidden]));
  if (JSON.stringify(kinds.filter(([k]) => k === 'callback')) !== JSON.stringify([['callback', false]])
      || !(await B.$eval(`${item} ul.reports`, (u) => u.hidden))) {
    throw new Error('the runs of the parent show as ' + JSON.stringify(kinds));
  }
  return 'callback: ' + shown;
});

// 12
await step(11, async () => {
  await go(A, '#/sessions');
  for (const s of [one, slow, kid]) await A.waitForSelector(`tr[data-session="${s}"]`, {timeout: W});
  const kidRow = await A.$$eval(`tr[data-session="${kid}"] td`, (tds) => tds.map((t) => t.textContent));
  if (kidRow[3] !== one) throw new Error(`${kid}'s parent shows as ${kidRow[3]}`);
  const oneRow = await A.$$eval(`tr[data-session="${one}"] td`, (tds) => tds.map((t) => t.textContent));
  // its start, its resume, the callback of its child, a client's resume
  if (oneRow[4] !== '4' || oneRow[1] !== 'finished') throw new Error(`${one}: ${oneRow.join(' | ')}`);
  await shot(A, 'sessions');
});

// 13
await step(12, async () => {
  await click(A, `tr[data-session="${slow}"] td a`);
  await waitText(A, '.head h1', slow);
  const before = dialogs.length;
  const del = (await A.$$('.head .actions button')).at(-1);
  if ((await del.evaluate((b) => b.textContent)) !== 'Delete session') throw new Error('no Delete button');
  await front(A);
  await del.click();
  await A.waitForFunction(() => location.hash === '#/sessions', {timeout: W, polling: 100});
  if (dialogs.length !== before + 1 || !dialogs.at(-1).includes(slow)) throw new Error('no confirmation asked');
  await A.waitForSelector(`tr[data-session="${one}"]`, {timeout: W});
  await A.waitForFunction((s) => !document.querySelector(`tr[data-session="${s}"]`), {timeout: W, polling: 100}, slow);
  return `confirmation: ${dialogs.at(-1)}`;
});

// the blueprints page's rows: "registry:NAME" or "local:NAME", in order
const agentRows = (page) => page.$$eval('table.agents tbody tr', (trs) => trs.map((t) => `${t.dataset.kind}:${t.dataset.agent}`));
const cells = (page, sel) => page.$$eval(`${sel} td`, (tds) => tds.map((t) => t.textContent));
const regRow = (name) => `tr[data-kind="registry"][data-agent="${name}"]`;
const localRow = (name) => `tr[data-kind="local"][data-agent="${name}"]`;
// the options of the form's agent select: {value, text, title, group}
const agentOptions = (page) => page.$$eval('#n-agent option', (os) => os.map((o) => ({
  value: o.value, text: o.textContent, title: o.title,
  group: o.parentElement.tagName === 'OPTGROUP' ? o.parentElement.label : ''})));
async function waitRows(page, want, timeout = W) {
  try {
    await page.waitForFunction((w) => JSON.stringify([...document.querySelectorAll('table.agents tbody tr')]
      .map((t) => `${t.dataset.kind}:${t.dataset.agent}`)) === w, {timeout, polling: 100}, JSON.stringify(want));
  } catch (e) {
    throw new Error(`waited for the rows ${want.join(' ')}; shown: ${(await agentRows(page)).join(' ')}`);
  }
}

// 14
await step(13, async () => {
  needBlueprints();
  await go(A, '#/agents');
  await A.waitForSelector(regRow(writer), {timeout: W});
  await A.waitForSelector(regRow(old), {timeout: W});
  await A.waitForSelector(localRow(opt.agent), {timeout: W});
  // [name, status, description, tags, model, MCP servers, runners, actions]
  const w = await cells(A, regRow(writer));
  const want = [writer, 'active', BLUEPRINTS[0].description, 'docs, linux', 'sonnet'];
  if (JSON.stringify(w.slice(0, 5)) !== JSON.stringify(want)) throw new Error(`${writer}: ${w.join(' | ')}`);
  if (w[5].split(', ').sort().join(',') !== 'fs,orchestrator') throw new Error(`${writer}'s MCP servers: ${w[5]}`);
  if (runnerHosts.length && w[6].split(', ').sort().join(',') !== runnerHosts.join(',')) {
    throw new Error(`${writer}'s runners: ${w[6]} (not ${runnerHosts.join(', ')})`);
  }
  const o = await cells(A, regRow(old));
  if (o[2] !== BLUEPRINTS[1].description || o[3] !== 'review' || o[4] !== '—' || o[5] !== '—') throw new Error(`${old}: ${o.join(' | ')}`);
  if (await A.$('table.agents em')) throw new Error('a description was parsed as HTML');
  const l = await cells(A, localRow(opt.agent));
  if (l[1] !== 'runner-local' || l[2] !== '—' || l[6] === 'none online') throw new Error(`${opt.agent}: ${l.join(' | ')}`);
  if ((await A.$$(`${localRow(opt.agent)} button`)).length) throw new Error('a runner-local agent has buttons');
  const rows = await agentRows(A);
  if (rows.filter((r) => r.startsWith('registry:')).length !== 2) throw new Error('rows: ' + rows.join(' '));
  return `rows: ${rows.join(' ')}; ${opt.agent}: offered by ${l[6]}; ${writer}: runners ${w[6]}`;
});

// 15
await step(14, async () => {
  needBlueprints();
  await fill(A, '#f-tags', 'linux');
  await waitRows(A, [`registry:${writer}`]);
  const hash = await A.evaluate(() => location.hash);
  if (hash !== '#/agents?tags=linux') throw new Error('the filter is not in the address: ' + hash);
  await fill(A, '#f-tags', 'linux, review');
  await waitRows(A, []);
  await waitText(A, 'p.empty', 'No blueprint has every one of these tags');
  // cleared: every blueprint, and the runner-local agents again
  await A.$eval('#f-tags', (e) => { e.value = ''; e.dispatchEvent(new Event('input', {bubbles: true})); });
  await A.waitForSelector(localRow(opt.agent), {timeout: W});
  // a tag's link
  await click(A, `${regRow(old)} td a[href="#/agents?tags=review"]`);
  await A.waitForFunction(() => location.hash === '#/agents?tags=review', {timeout: W, polling: 100});
  await waitRows(A, [`registry:${old}`]);
  const v = await A.$eval('#f-tags', (e) => e.value);
  if (v !== 'review') throw new Error('the field shows ' + JSON.stringify(v));
  await go(A, '#/agents');
  await A.waitForSelector(localRow(opt.agent), {timeout: W});
  return 'filtered: linux, "linux, review", review';
});

// 16
await step(15, async () => {
  needBlueprints();
  const btn = `${regRow(old)} button.toggle`;
  if ((await text(A, btn)) !== 'Disable') throw new Error('the button says ' + await text(A, btn));
  await front(A);
  await A.focus(btn);
  await A.keyboard.press('Enter');
  await A.waitForSelector(`${regRow(old)}[data-status="inactive"]`, {timeout: W});
  await waitText(A, `${regRow(old)} .badge`, 'inactive');
  await waitText(A, btn, 'Enable');
  await waitText(A, `${regRow(old)} td:nth-child(7)`, 'none: inactive');
  const focused = await A.evaluate((s) => document.activeElement === document.querySelector(s), btn);
  if (!focused) throw new Error('the focus left the button');
  const r = await api('GET', agentPath(old));
  if (r.status !== 200 || r.json.status !== 'inactive') throw new Error(`the API: ${r.status} ${JSON.stringify(r.json)}`);
  if ((await cells(A, regRow(writer)))[1] !== 'active') throw new Error(`${writer} is not active any more`);
  await shot(A, 'agents');
  return `GET ${agentPath(old)}: status ${r.json.status}`;
});

// 17
await step(16, async () => {
  needBlueprints();
  await go(B, '#/new');
  await B.waitForSelector(`#n-agent option[value="${writer}"]`, {timeout: W});
  await B.waitForSelector(`#n-agent option[value="${opt.agent}"]`, {timeout: W});
  const os = await agentOptions(B);
  const values = os.map((o) => o.value);
  const twice = values.filter((v, i) => values.indexOf(v) !== i);
  if (twice.length) throw new Error('offered more than once: ' + twice.join(', '));
  if (values.includes(old)) throw new Error(`the inactive ${old} is offered`);
  const w = os.find((o) => o.value === writer);
  if (w.title !== BLUEPRINTS[0].description || !w.text.includes(BLUEPRINTS[0].description) || w.group !== 'Registry blueprints') {
    throw new Error(`${writer}: ${JSON.stringify(w)}`);
  }
  const l = os.find((o) => o.value === opt.agent);
  if (l.group !== 'Runner-local') throw new Error(`${opt.agent}: ${JSON.stringify(l)}`);
  return 'offered: ' + os.map((o) => `${o.value || 'any'} (${o.group || '-'})`).join(', ');
});

// 18
await step(17, async () => {
  needBlueprints();
  const prompt = 'Write the notes lines=2';
  const run = await newSession(B, {name: `${opt.prefix}-notes`, agent: writer, prompt});
  await waitText(B, '.head h1', run);
  await waitText(B, '.head .badge', 'completed');
  await waitText(B, 'pre.result', prompt);
  const agent = await B.$$eval('dl.fields > div', (ds) => {
    const d = ds.find((x) => x.querySelector('dt').textContent === 'Agent');
    return d && d.querySelector('dd').textContent;
  });
  if (agent !== writer) throw new Error('the run\'s agent shows as ' + agent);
  const r = await api('GET', `${cfgPaths.runs}/${run}`);
  if (r.json.agent_name !== writer) throw new Error(`the API: ${JSON.stringify(r.json)}`);
  let host = r.json.launcher_id;
  const ls = await api('GET', cfgPaths.launchers);
  const l = (ls.json.launchers || []).find((x) => x.launcher_id === r.json.launcher_id);
  if (l) host = l.hostname;
  if (runnerHosts.length && !runnerHosts.includes(host)) throw new Error(`run by ${host}, not one of ${runnerHosts.join(', ')}`);
  return `run ${run} by ${host}`;
});

// 19
await step(18, async () => {
  needBlueprints();
  const before = dialogs.length;
  await click(A, `${regRow(old)} button.danger`);
  await A.waitForFunction((s) => !document.querySelector(s), {timeout: W, polling: 100}, regRow(old));
  if (dialogs.length !== before + 1 || !dialogs.at(-1).includes(old)) throw new Error('no confirmation asked');
  const r = await api('GET', agentPath(old));
  if (r.status !== 404) throw new Error(`the API still has it: ${r.status}`);
  const focus = await A.evaluate(() => document.activeElement && document.activeElement.tagName);
  if (focus !== 'BUTTON' && focus !== 'INPUT') throw new Error('the focus went to ' + focus);
  return `confirmation: ${dialogs.at(-1)}; then the API: ${r.status} ${r.json && r.json.detail}`;
});

// 20
await step(19, async () => {
  needBlueprints();
  await A.waitForSelector(localRow(opt.agent), {timeout: W});
  const t0 = Date.now();
  const r = await api('POST', cfgPaths.agents, {name: opt.agent, description: 'Codes, as the registry says', tags: ['linux']});
  if (r.status !== 201) throw new Error(`POST: ${r.status} ${JSON.stringify(r.json)}`);
  // nothing but the event reads the registry again: no timer does
  await A.waitForSelector(regRow(opt.agent), {timeout: W});
  const took = Date.now() - t0;
  if (await A.$(localRow(opt.agent))) throw new Error(`${opt.agent} is still listed as runner-local`);
  await go(B, '#/new');
  await B.waitForFunction((a) => {
    const o = document.querySelector(`#n-agent option[value="${a}"]`);
    return o && o.parentElement.label === 'Registry blueprints';
  }, {timeout: W, polling: 100}, opt.agent);
  const n = (await agentOptions(B)).filter((o) => o.value === opt.agent).length;
  if (n !== 1) throw new Error(`${opt.agent} offered ${n} times`);
  return `shown after ${took} ms`;
});

// 21
await step(20, async () => {
  needBlueprints();
  await go(B, '#/agents');
  await B.waitForSelector(regRow(opt.agent), {timeout: W});
  // the page's readings of the registry are held, so that it still shows
  // the blueprint its agent.deleted event tells it is gone
  const list = new URL(cfgPaths.agents, baseURL).pathname;
  const held = [];
  const hold = (req) => {
    if (new URL(req.url()).pathname === list) held.push(req);
    else req.continue();
  };
  await B.setRequestInterception(true);
  B.on('request', hold);
  let detail;
  try {
    const d = await api('DELETE', agentPath(opt.agent));
    if (d.status !== 204) throw new Error(`DELETE: ${d.status}`);
    detail = (await api('PATCH', `${agentPath(opt.agent)}/status`, {status: 'inactive'})).json.detail;
    await click(B, `${regRow(opt.agent)} button.toggle`);
    await waitText(B, '.view > .msg.err', `${opt.agent}: ${detail}`);
    // its readings come at most every 250 ms: one is asked for by now
    const t0 = Date.now();
    while (!held.length && Date.now() - t0 < W) await new Promise((ok) => setTimeout(ok, 50));
    if (!held.length) throw new Error('the page did not read the registry again (on the event, after the action)');
  } finally {
    B.off('request', hold);
    for (const req of held) await req.continue();
    await B.setRequestInterception(false);
  }
  await B.waitForSelector(localRow(opt.agent), {timeout: W});
  if (await B.$(regRow(opt.agent))) throw new Error('the deleted blueprint is still shown');
  // the runners page deregisters the spare runner: this page shows it
  // among the runners of the registry's active blueprints till then
  if (opt.spare && runnerHosts.includes(opt.spare)) await waitText(B, `${regRow(writer)} td:nth-child(7)`, opt.spare);
  return `shown: ${await text(B, '.view > .msg.err')}`;
});

// 22
await step(21, async () => {
  await go(A, '#/runners');
  await A.waitForSelector('li.card', {timeout: W});
  if (opt.spare) await waitText(A, 'ul.cards', opt.spare);
  const cards = await A.$$eval('li.card', (cs) => cs.map((c) => [c.querySelector('h2').textContent, c.dataset.status]));
  if (!cards.some(([, st]) => st === 'online')) throw new Error('no runner online: ' + JSON.stringify(cards));
  await shot(A, 'runners');
  return 'runners: ' + cards.map((c) => c.join(' ')).join(', ');
});

// 23
await step(22, async () => {
  if (!opt.spare) throw new Error('no --spare runner named');
  const id = await A.$$eval('li.card', (cs, host) => {
    const c = cs.find((x) => x.querySelector('h2').textContent === host);
    return c ? c.dataset.launcher : null;
  }, opt.spare);
  if (!id) throw new Error(`no card for ${opt.spare}`);
  const before = dialogs.length;
  await click(A, `li.card[data-launcher="${id}"] button.danger`);
  await A.waitForFunction((l) => !document.querySelector(`li.card[data-launcher="${l}"]`), {timeout: W, polling: 100}, id);
  if (dialogs.length !== before + 1) throw new Error('no confirmation asked');
  const left = await A.$$eval('li.card h2', (hs) => hs.map((x) => x.textContent));
  return `${opt.spare} (${id}) gone; left: ${left.join(', ')}`;
});

// 24
await step(23, async () => {
  needBlueprints();
  if (!opt.spare || !runnerHosts.includes(opt.spare)) return 'skipped: the runner deregistered (--spare) is not among --runners';
  const t0 = Date.now();
  await B.waitForFunction((s, host) => {
    const td = document.querySelector(`${s} td:nth-child(7)`);
    return td && !td.textContent.split(', ').includes(host);
  }, {timeout: W, polling: 100}, regRow(writer), opt.spare);
  return `${writer}'s runners: ${await text(B, `${regRow(writer)} td:nth-child(7)`)} (${Date.now() - t0} ms after the runner left)`;
});

// 25
await step(24, async () => {
  needBlueprints();
  const where = new URL(cfgPaths.agents, baseURL).pathname;
  let answer = 404;
  const onRequest = (req) => {
    if (req.isInterceptResolutionHandled()) return;
    if (new URL(req.url()).pathname === where) {
      // nginx's own answers for a location that is not there, or one
      // that takes other methods
      req.respond(answer === 404
        ? {status: 404, contentType: 'text/html', body: '<html><body><h1>404 Not Found</h1></body></html>'}
        : {status: 405, contentType: 'application/json', body: '{"detail": "Method not allowed"}'});
    } else {
      req.continue();
    }
  };
  await B.setRequestInterception(true);
  B.on('request', onRequest);
  try {
    await go(B, '#/runs');
    await go(B, '#/agents');
    await waitText(B, '.view > .msg', 'The blueprint registry is not mounted');
    await B.waitForSelector(localRow(opt.agent), {timeout: W});
    const rows = await agentRows(B);
    if (rows.some((r) => !r.startsWith('local:'))) throw new Error('rows: ' + rows.join(' '));
    if (!(await B.$eval('#f-tags', (e) => e.disabled))) throw new Error('the tag filter is still usable');
    const note = await text(B, '.view > .msg');
    answer = 405;
    await go(B, '#/new');
    await B.waitForSelector(`#n-agent option[value="${opt.agent}"]`, {timeout: W});
    const values = (await agentOptions(B)).map((o) => o.value);
    if (values.includes(writer)) throw new Error('the form offers ' + values.join(', '));
    const err = await text(B, 'form.newform .msg');
    if (err) throw new Error('the form says: ' + err);
    return `${note}; the form offers: ${values.map((v) => v || 'any').join(', ')}`;
  } finally {
    B.off('request', onRequest);
    await B.setRequestInterception(false);
  }
});

// 26
await step(25, async () => {
  if (pageErrors.length) throw new Error(pageErrors.join('\n'));
});

clearTimeout(watchdog);
await browser.close();
process.exit(failed ? 1 : 0);
