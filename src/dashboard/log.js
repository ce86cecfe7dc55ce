// A run's log in a <pre>: read once for a run that has ended, followed
// (GET {runs}/{id}/log?follow=1, read with a stream reader) while it is
// live. A follow that ends before the run does (the follower fell behind
// the kept log, a worker shut down) is asked again from the byte offset
// reached; a gap (bytes no longer kept) is marked in the text.

import {h, setText, TERMINAL} from './dom.js';
import {path, errorOf, get, aborted} from './api.js';

const MAX_CHARS = 512 * 1024;     // kept in the page; the oldest text goes first

export function logViewer(runId, {label} = {}) {
  const pre = h('pre', {class: 'log', tabindex: '0', role: 'log',
                        'aria-label': label || `Log of ${runId}`});
  const state = h('p', {class: 'logstate', 'aria-live': 'polite'});
  const el = h('div', {class: 'logbox'}, pre, state);
  let ctl = null;
  let offset = 0;
  let decoder = new TextDecoder('utf-8');
  let chars = 0;
  let stopped = false;
  let empty = true;

  const atBottom = () => pre.scrollHeight - pre.scrollTop - pre.clientHeight < 24;

  const add = (text, cls) => {
    if (!text) return;
    const stick = atBottom();
    if (empty) { pre.textContent = ''; empty = false; }
    if (cls) pre.append(h('span', {class: cls}, text));
    else {
      const last = pre.lastChild;
      if (last && last.nodeType === Node.TEXT_NODE && last.length < 65536) last.appendData(text);
      else pre.append(document.createTextNode(text));
    }
    chars += text.length;
    while (chars > MAX_CHARS && pre.firstChild) {
      chars -= pre.firstChild.textContent.length;
      pre.firstChild.remove();
    }
    if (stick) pre.scrollTop = pre.scrollHeight;
  };

  const gap = (from, to) => {
    add(decoder.decode());
    decoder = new TextDecoder('utf-8');
    add(from === 0
        ? `[the log's first ${to} bytes are no longer kept]\n`
        : `[bytes ${from}–${to} of the log are no longer kept]\n`, 'gap');
  };

  // one answer read to its end; returns false when the viewer stopped
  const readAnswer = async (res) => {
    const start = Number(res.headers.get('X-Log-Offset') || '0');
    if (start > offset) gap(offset, start);
    offset = Math.max(offset, start);
    if (res.headers.get('X-Log-Evicted') === 'true') {
      add('[this finished run\'s log was given up for room in the runs_zone]\n', 'gap');
    }
    const reader = res.body.getReader();
    for (;;) {
      const {done, value} = await reader.read();
      if (done) break;
      offset += value.byteLength;
      add(decoder.decode(value, {stream: true}));
    }
    return !stopped;
  };

  const showEmpty = () => {
    if (empty) setText(pre, '(no log)');
  };

  // start(live): follow while the run is live, then read what is left
  const start = async (live) => {
    stop();
    stopped = false;
    ctl = new AbortController();
    const signal = ctl.signal;
    try {
      for (let attempt = 0; !stopped; attempt++) {
        setText(state, live ? 'following the log…' : 'reading the log…');
        const res = await fetch(path.runLog(runId, {offset: offset || null, follow: live ? 1 : null}),
                                {signal, cache: 'no-store'});
        if (res.status === 503 && live) {
          setText(state, 'too many log follows: trying again in a second…');
          await new Promise((r) => setTimeout(r, 1000));
          continue;
        }
        if (!res.ok) throw await errorOf(res);
        const runStatus = res.headers.get('X-Run-Status') || '';
        if (!(await readAnswer(res))) return;
        if (!live || TERMINAL.has(runStatus)) break;
        // the follow ended: has the run ended too?
        const run = await get(path.run(runId), {signal});
        if (TERMINAL.has(run.status)) {
          live = false;               // one more plain read for what is left
          continue;
        }
        if (attempt > 1000) break;
      }
      add(decoder.decode());
      showEmpty();
      setText(state, '');
    } catch (e) {
      if (aborted(e)) return;
      showEmpty();
      setText(state, 'log: ' + e.message);
      state.classList.add('err');
    } finally {
      if (ctl && ctl.signal === signal) ctl = null;
    }
  };

  const stop = () => {
    stopped = true;
    if (ctl) { ctl.abort(); ctl = null; }
  };

  setText(pre, '');
  return {el, start, stop};
}
