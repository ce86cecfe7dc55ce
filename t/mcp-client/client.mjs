// A real MCP client against the coordinator's runs_mcp: the official
// TypeScript SDK (@modelcontextprotocol/sdk, pinned in package-lock.json),
// its Client over StreamableHTTPClientTransport, as any MCP host would use
// it. The coordinator needs a runner with the echo executor (it answers
// with the prompt). It prints one TAP line per step and exits 1 when a
// step failed (2 when it could not run at all).
//
//   node t/mcp-client/client.mjs --url http://127.0.0.1:8765/mcp \
//       [--prefix NAME] [--timeout SECONDS]
//
// --prefix: the start of the session names made here (unique per run);
// --timeout: for the whole script (default 60).

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { LATEST_PROTOCOL_VERSION, McpError } from '@modelcontextprotocol/sdk/types.js';

const argv = process.argv.slice(2);
const opt = {url: '', prefix: 'sdk' + process.pid, timeout: '60'};
for (let i = 0; i < argv.length; i++) {
  const m = /^--([a-z]+)$/.exec(argv[i]);
  if (!m || !(m[1] in opt) || i + 1 >= argv.length) {
    console.error('usage: client.mjs --url URL [--prefix NAME] [--timeout SECONDS]');
    process.exit(2);
  }
  opt[m[1]] = argv[++i];
}
if (!opt.url) { console.error('client.mjs: --url is required'); process.exit(2); }

const TOOLS = ['delete_all_agent_sessions', 'get_agent_session_result', 'get_agent_session_status',
               'list_agent_blueprints', 'list_agent_sessions', 'resume_agent_session',
               'start_agent_session', 'stop_agent_session'];

const STEPS = [
  'connect: initialize, the SDK\'s newest protocol version agreed, an Mcp-Session-Id',
  'tools/list: the eight tools, each with an input schema',
  'a sync start_agent_session answers the agent\'s result',
  'get_agent_session_status: finished',
  'get_agent_session_result: the same result',
  'list_agent_sessions lists the session',
  'a sync resume_agent_session answers the next result',
  'an async start answers at once, the session running',
  'get_agent_session_status with wait_seconds waits until it finishes',
  'an unknown tool: a protocol error (-32602)',
  'a start of a session that exists: a tool error (isError)',
  'close: the session ended (DELETE answered 405, which the SDK takes)',
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
  while (n < STEPS.length) report(false, STEPS[n], `not reached in ${opt.timeout} s`);
  process.exit(1);
}, Number(opt.timeout) * 1000);

// one step: fn() returns [ok, diag]; a throw fails the step
async function step(fn) {
  const name = STEPS[n];
  try {
    const [ok, diag] = await fn();
    report(ok, name, ok ? '' : diag);
  } catch (e) {
    report(false, name, e && e.stack ? e.stack : String(e));
  }
}

// a tool's text content
const text = (res) => (res.content || []).filter((c) => c.type === 'text').map((c) => c.text).join('');
const json = (res) => { try { return JSON.parse(text(res)); } catch { return null; } };

const client = new Client({name: 'agent-runs-sdk-test', version: '1.0.0'});
const transport = new StreamableHTTPClientTransport(new URL(opt.url));
const call = (name, args, timeout) => client.callTool({name, arguments: args}, undefined,
                                                       {timeout: (timeout || 30) * 1000});
const s1 = `${opt.prefix}-sync`;
const s2 = `${opt.prefix}-async`;

await step(async () => {
  await client.connect(transport);
  const v = client.getServerVersion() || {};
  const caps = client.getServerCapabilities() || {};
  console.log(`# protocol version ${transport.protocolVersion}, server ${v.name} ${v.version}`);
  return [v.name === 'ngx_http_runs_module' && !!caps.tools && /^mcp\w{41}$/.test(transport.sessionId || '')
          && transport.protocolVersion === LATEST_PROTOCOL_VERSION,
          JSON.stringify({server: v, caps, session: transport.sessionId,
                          version: transport.protocolVersion})];
});

await step(async () => {
  const {tools} = await client.listTools();
  const names = tools.map((t) => t.name).sort();
  const bad = tools.filter((t) => !t.inputSchema || t.inputSchema.type !== 'object');
  return [JSON.stringify(names) === JSON.stringify(TOOLS) && bad.length === 0,
          JSON.stringify(tools, null, 1)];
});

const prompt = 'Say hello from the SDK';
let first = '';
await step(async () => {
  const res = await call('start_agent_session', {session_name: s1, prompt});
  first = text(res);
  // the echo executor's answer: the prompt and a newline
  return [!res.isError && first === prompt + '\n', JSON.stringify(res)];
});

await step(async () => {
  const res = await call('get_agent_session_status', {session_name: s1});
  return [!res.isError && (json(res) || {}).status === 'finished', JSON.stringify(res)];
});

await step(async () => {
  const res = await call('get_agent_session_result', {session_name: s1});
  return [!res.isError && text(res) === first, JSON.stringify(res)];
});

await step(async () => {
  const res = await call('list_agent_sessions', {});
  const l = json(res) || {};
  const mine = (l.sessions || []).find((s) => s.name === s1);
  return [!res.isError && !!mine && /^[0-9a-f-]{36}$/.test(mine.session_id || '')
          && l.total === (l.sessions || []).length, JSON.stringify(res)];
});

await step(async () => {
  const res = await call('resume_agent_session', {session_name: s1, prompt: 'And goodbye'});
  return [!res.isError && text(res) === 'And goodbye\n', JSON.stringify(res)];
});

let t0 = 0;
await step(async () => {
  t0 = Date.now();
  const res = await call('start_agent_session', {session_name: s2, prompt: 'sleep=1.5 then done',
                                                 async_mode: true});
  const st = await call('get_agent_session_status', {session_name: s2});
  return [!res.isError && text(res).includes(s2) && Date.now() - t0 < 1500
          && (json(st) || {}).status === 'running',
          JSON.stringify([res, st, Date.now() - t0])];
});

await step(async () => {
  const st = await call('get_agent_session_status', {session_name: s2, wait_seconds: 20}, 40);
  const took = Date.now() - t0;
  const r = await call('get_agent_session_result', {session_name: s2});
  return [(json(st) || {}).status === 'finished' && took >= 1400 && took < 15000
          && text(r) === 'sleep=1.5 then done\n', JSON.stringify([st, r, took])];
});

await step(async () => {
  try {
    const res = await call('no_such_tool', {});
    return [false, 'answered: ' + JSON.stringify(res)];
  } catch (e) {
    return [e instanceof McpError && e.code === -32602, String(e)];
  }
});

await step(async () => {
  const res = await call('start_agent_session', {session_name: s1, prompt: 'again'});
  return [res.isError === true && /already exists/.test(text(res)), JSON.stringify(res)];
});

await step(async () => {
  const before = transport.sessionId;
  await transport.terminateSession();       // throws on any answer but 2xx and 405
  const after = transport.sessionId;
  await client.close();
  return [!!before && after === undefined, JSON.stringify({before, after})];
});

clearTimeout(watchdog);
process.exit(failed ? 1 : 0);
