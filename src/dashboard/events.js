// The change stream: one EventSource on config.events for the whole page.
// Events carry ids only; each view fetches what an event touches.
//
// EventSource reconnects by itself after a dropped stream (sending
// Last-Event-ID, so the coordinator can replay what was missed or send
// `reset`). When it gives up (an answer that is not an event stream: a
// 404, a 502 of a proxy) it is made again here after a backoff, and since
// what happened meanwhile is unknown, that counts as a `reset`.

export const EVENT_TYPES = [
  'run.created', 'run.claimed', 'run.started', 'run.stopping',
  'run.completed', 'run.failed', 'run.stopped', 'run.requeued', 'run.result',
  'session.created', 'session.deleted',
  'launcher.registered', 'launcher.stale', 'launcher.online', 'launcher.removed',
];

// state: 'connecting' | 'live' | 'reconnecting' | 'offline'
export function connectEvents(url, {onEvent, onReset, onState}) {
  let es = null;
  let retry = 1000;
  let timer = null;
  let everOpen = false;
  let closed = false;

  const deliver = (type) => (msg) => {
    let data = {};
    try { data = JSON.parse(msg.data || '{}') || {}; } catch (e) { /* keep {} */ }
    if (!data.type) data.type = type;
    if (data.type === 'reset' || type === 'reset') {
      onReset();
      return;
    }
    onEvent(data);
  };

  const open = () => {
    timer = null;
    if (closed) return;
    onState(everOpen ? 'reconnecting' : 'connecting');
    es = new EventSource(url);
    for (const t of EVENT_TYPES) es.addEventListener(t, deliver(t));
    es.addEventListener('reset', deliver('reset'));
    es.addEventListener('message', deliver('message'));
    es.addEventListener('open', () => {
      retry = 1000;
      onState('live');
      if (everOpen) onReset();      // made again: what was missed is unknown
      everOpen = true;
    });
    es.addEventListener('error', () => {
      if (!es) return;
      if (es.readyState === EventSource.CONNECTING) {
        onState('reconnecting');     // the browser retries by itself
        return;
      }
      // closed for good: make it again later
      es.close();
      es = null;
      onState('offline');
      timer = setTimeout(open, retry);
      retry = Math.min(retry * 2, 30000);
    });
  };

  open();
  return {
    close() {
      closed = true;
      if (timer) clearTimeout(timer);
      if (es) es.close();
    },
    // connected now?
    live: () => !!es && es.readyState === EventSource.OPEN,
  };
}
