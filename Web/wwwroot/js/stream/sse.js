// One channel subscription over plain Server-Sent Events (docs/protocol.md, "SSE GET /sse/{channel}"): the transport
// of a browser that cannot use WebSockets. Every request stands alone (the token in the URL, the position in
// Last-Event-ID), so any streamer replica behind a balancer without affinity can serve it; SignalR's negotiated
// transports (its SSE and long polling) would need negotiate and every later request on one replica.

/** The frame types the streamer sends (EventSource dispatches a named event only to listeners of its name). */
const FRAME_TYPES = [
  'subscribed', 'reconnecting', 'resubscribe',
  'message.started', 'message.queued', 'message.resumed', 'delta', 'message.completed', 'message.failed', 'message.cancelled',
  'presence', 'presence.join', 'presence.leave',
];

/** The EventSource was closed for good: the streamer refused it (401, 403, 429) or a proxy answered for it. */
export class SseClosedError extends Error {
  /** @param {string} channel */
  constructor(channel) {
    super(`sse_closed: the event stream of ${channel} was refused or failed`);
    this.name = 'SseClosedError';
  }
}

/**
 * @typedef {object} SseObserver
 * @property {(item: object) => void} next each frame's event JSON, parsed (the same items as the hub's stream)
 * @property {(error: Error) => void} error the stream ended and will not come back by itself ({@link SseClosedError})
 * @property {() => boolean} interrupted the response ended or broke and EventSource is about to reconnect by itself,
 *   sending the last `id:` it received as `Last-Event-ID` (after the stream's `retry: 250`): return true to let it,
 *   false to have the stream closed and {@link SseObserver.error} called instead
 */

/**
 * Opens `GET {url}/{channel}?token=…` with an EventSource, from `epoch:sinceOffset` when both are given
 * (`lastEventId` in the query: EventSource cannot set the header on its first request; it does on its own reconnects).
 * @param {string} url the SSE endpoint, e.g. `/sse`
 * @param {string} channel e.g. `conv:6f1c…`
 * @param {number | null} sinceOffset
 * @param {string | null} epoch
 * @param {string} token the channel's subscription token
 * @param {SseObserver} observer
 * @returns {{ dispose: () => void }} closes the stream; no observer callback follows
 */
export function openSseStream(url, channel, sinceOffset, epoch, token, observer) {
  const query = new URLSearchParams({ token });
  if (epoch && Number.isInteger(sinceOffset)) query.set('lastEventId', `${epoch}:${sinceOffset}`);
  const source = new EventSource(`${url}/${channel}?${query}`);
  let closed = false;
  const close = () => {
    closed = true;
    source.close();
  };

  const frame = message => {
    if (closed) return;
    let item;
    try {
      item = JSON.parse(message.data);
    } catch {
      return; // not an event: ignored, as unknown types are
    }
    observer.next(item);
  };
  for (const type of FRAME_TYPES) source.addEventListener(type, frame);

  source.onerror = () => {
    if (closed) return;
    // CONNECTING: EventSource reconnects by itself with Last-Event-ID. CLOSED: it has given up (a refusal, a proxy's
    // error page), and a new stream, with a fresh token, is the subscription's to open.
    if (source.readyState === EventSource.CONNECTING && observer.interrupted()) return;
    close();
    observer.error(new SseClosedError(channel));
  };
  return { dispose: close };
}
