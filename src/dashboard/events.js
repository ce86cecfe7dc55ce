// The change stream: one EventSource on config.events for the whole page.
// Events carry ids only; each view fetches what an event touches.
//
// EventSource reconnects by itself after a dropped stream, sending
// Last-Event-ID: the coordinator replays what was missed, or sends
// `reset` when its ring no longer holds it. When the browser gives up (an
// answer that is not an event stream: a 404, a 502 of a proxy) the stream
// is made again here after a backoff, with ?last_event_id= for the same
// effect; without an id seen yet, that counts as a `reset`.

export const EVENT_TYPES = [
  'run.created', 'run.claimed', 'run.started', 'run.stopping',
  'run.completed', 'run.failed', 'run.stopped', 'run.requeued', 'run.result',
  'session.created', 'session.deleted',
  'launcher.registered', 'launcher.stale', 'launcher.online', 'launcher.removed',
  'agent.created', 'agent.updated', 'agent.deleted',
];

// state: 'connecting' | 'live' | 'reconnecting' | 'offline'
export function connectEvents(url, {onEvent, onReset, onState}) {
  let es = null;
  let retry = 1000;
  let timer = null;
  let everOpen = false;
  let closed = false;
  let lastId = '';

  const deliver = (type) => (msg) => {
    if (msg.lastEventId) lastId = msg.lastEventId;
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
    const again = everOpen && lastId;
    es = new EventSource(again ? `${url}?last_event_id=${encodeURIComponent(lastId)}` : url);
    for (const t of EVENT_TYPES) es.addEventListener(t, deliver(t));
    es.addEventListener('reset', deliver('reset'));
    es.addEventListener('message', deliver('message'));
    let opened = false;   // the browser's own reconnections send Last-Event-ID
    es.addEventListener('open', () => {
      retry = 1000;
      onState('live');
      if (everOpen && !again && !opened) onReset();   // what was missed is unknown
      everOpen = opened = true;
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
