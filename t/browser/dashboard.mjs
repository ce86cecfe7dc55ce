// The dashboard driven in a real browser (Debian's chromium, headless,
// through puppeteer-core) against a running coordinator with a runner of
// the echo executor. It prints one TAP line per step and exits 1 when a
// step failed (2 when it could not run at all).
//
//   node t/browser/dashboard.mjs --base http://127.0.0.1:8765/dashboard/ \
//       --out build [--chromium /usr/bin/chromium] [--agent coder] \
//       [--spare HOSTNAME] [--prefix NAME] [--timeout SECONDS] [--wait SECONDS]
//
// --agent: an agent the runners list (the runs started here name it);
// --spare: the hostname of a runner that the runners page deregisters;
// --prefix: the start of the session names made here (unique per run);
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
             spare: '', prefix: 'dash' + process.pid, timeout: '180', wait: '15'};
for (let i = 0; i < argv.length; i++) {
  const m = /^--([a-z]+)$/.exec(argv[i]);
  if (!m || !(m[1] in opt) || i + 1 >= argv.length) {
    console.error('usage: dashboard.mjs --base URL [--out DIR] [--chromium PATH] [--agent NAME] '
                  + '[--spare HOST] [--prefix NAME] [--timeout S] [--wait S]');
    process.exit(2);
  }
  opt[m[1]] = argv[++i];
}
if (!opt.base) { console.error('dashboard.mjs: --base is required'); process.exit(2); }
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
  'the tree shows a child under its parent, live, with its status and callback',
  'the sessions page lists the sessions and their parents',
  'Delete on a session\'s page removes it, after a confirmation',
  'the runners page lists the runners',
  'Deregister on the runners page removes the runner',
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
  return 'callback: ' + (await text(A, `${node} > ul.callbacks li.callback`));
});

// 12
await step(11, async () => {
  await go(A, '#/sessions');
  for (const s of [one, slow, kid]) await A.waitForSelector(`tr[data-session="${s}"]`, {timeout: W});
  const kidRow = await A.$$eval(`tr[data-session="${kid}"] td`, (tds) => tds.map((t) => t.textContent));
  if (kidRow[3] !== one) throw new Error(`${kid}'s parent shows as ${kidRow[3]}`);
  const oneRow = await A.$$eval(`tr[data-session="${one}"] td`, (tds) => tds.map((t) => t.textContent));
  // its start, its resume and the callback of its child
  if (oneRow[4] !== '3' || oneRow[1] !== 'finished') throw new Error(`${one}: ${oneRow.join(' | ')}`);
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

// 14
await step(13, async () => {
  await go(A, '#/runners');
  await A.waitForSelector('li.card', {timeout: W});
  if (opt.spare) await waitText(A, 'ul.cards', opt.spare);
  const cards = await A.$$eval('li.card', (cs) => cs.map((c) => [c.querySelector('h2').textContent, c.dataset.status]));
  if (!cards.some(([, st]) => st === 'online')) throw new Error('no runner online: ' + JSON.stringify(cards));
  await shot(A, 'runners');
  return 'runners: ' + cards.map((c) => c.join(' ')).join(', ');
});

// 15
await step(14, async () => {
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

// 16
await step(15, async () => {
  if (pageErrors.length) throw new Error(pageErrors.join('\n'));
});

clearTimeout(watchdog);
await browser.close();
process.exit(failed ? 1 : 0);
