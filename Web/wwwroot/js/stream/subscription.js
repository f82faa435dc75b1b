// A subscription to one channel of the streamer tier (docs/protocol.md, "Channels, offsets, epochs" and "SignalR
// hub"). Generic like the tier itself: positions, recovery and control frames; nothing here knows about chat.

import { retryDelay } from '../retry.js';
import { SseClosedError } from './sse.js';

const isHubError = error => /HubException/.test(error?.message ?? '');
const isTokenError = error => /HubException: (forbidden|token_expired)/.test(error?.message ?? '');

// Refresh a subscription token when this share of its lifetime has passed (resubscribing from the last position).
const TOKEN_REFRESH_SHARE = 0.8;

/**
 * @typedef {object} SubscriptionHandlers
 * @property {(event: object) => void} onEvent each channel event once, in offset order (presence events too)
 * @property {(position: {epoch: string|null, offset: number}) => Promise<{sinceOffset: number, epoch: string} | null>} reload
 *   history could not fill the gap (`recovered: false`): load the state from the Api; events that arrive
 *   meanwhile are held and delivered after it. Return a position to replay from instead (e.g. the start of
 *   a reply that was already streaming), or null to go on live.
 * @property {() => Promise<{token: string, expiresAt: string}>} getToken a subscription token for the channel
 *   (`GET /api/conversations/{id}/token`); called before each subscribe when the last one is near expiry
 * @property {(frame: object) => void} [onSubscribed] the `subscribed` frame
 * @property {(error: Error) => void} [onError] a stream that ended with a hub error (it is retried)
 * @property {(status: 'live' | 'reconnecting') => void} [onStatus] `reconnecting` when the streamer says it lost
 *   Redis (the `reconnecting` control frame: the stream stays open and events resume, or it ends with
 *   `resubscribe`); `live` again when the subscription is confirmed or events flow again
 */

/**
 * A subscription to one channel that survives reconnections, replica loss and `resubscribe` hints:
 * it tracks the last processed position `(epoch, offset)`, resubscribes from there, and delivers every
 * offset at most once. Dispose it to unsubscribe.
 */
export class ChannelSubscription {
  /** Last processed position; `offset` null until the first `subscribed` frame of a live-only start. */
  position;
  #client;
  #handlers;
  #generation = 0;
  #stream = null;
  #held = null;
  #failures = 0;
  #live = false;
  #disposed = false;
  #offConnected;
  #token = null;
  #refreshTimer = null;
  #status = 'live';

  /**
   * Subscribes to `channel` from `start` (`{ sinceOffset, epoch }`, both null for live only).
   * @param {import('./connection.js').StreamClient} client
   * @param {string} channel
   * @param {{ sinceOffset: number | null, epoch: string | null }} start
   * @param {SubscriptionHandlers} handlers
   */
  constructor(client, channel, start, handlers) {
    this.#client = client;
    this.channel = channel;
    this.#handlers = handlers;
    this.position = { epoch: start.epoch ?? null, offset: start.sinceOffset ?? null };
    this.#offConnected = client.onConnected(() => this.#resubscribe());
    this.#open();
  }

  /** True once the server confirmed the subscription and any reload is done: new events now arrive in order. */
  get isLive() {
    return this.#live;
  }

  /** True while the Api reload after `recovered: false` is running (positions and text may disagree). */
  get isReloading() {
    return this.#held !== null;
  }

  /** The subscription token last used (for GetPresence), or null before the first subscribe. */
  get token() {
    return this.#token?.value ?? null;
  }

  /** Unsubscribes (cancels the hub stream or closes the EventSource); no handler is called afterwards. */
  dispose() {
    this.#disposed = true;
    this.#generation++;
    this.#closeStream();
    this.#offConnected();
    clearTimeout(this.#refreshTimer);
  }

  /** The subscription token, fetched again when missing or past {@link TOKEN_REFRESH_SHARE} of its lifetime. */
  async #currentToken() {
    const now = Date.now();
    if (!this.#token || now >= this.#token.refreshAt) {
      const answer = await this.#handlers.getToken();
      const expiresAt = Date.parse(answer.expiresAt);
      this.#token = { value: answer.token, refreshAt: now + (expiresAt - now) * TOKEN_REFRESH_SHARE };
      clearTimeout(this.#refreshTimer);
      // Before it expires: resubscribe from the current position with a fresh token (no gap, no duplicate).
      this.#refreshTimer = setTimeout(() => this.#resubscribe(), Math.max(1000, this.#token.refreshAt - now));
    }
    return this.#token.value;
  }

  #resubscribe() {
    if (!this.#disposed) this.#open();
  }

  // Opens a new stream (hub or SSE) from `position`. Every stream has a generation: callbacks of an older one are ignored.
  async #open() {
    const generation = ++this.#generation;
    this.#closeStream();
    this.#held = null;
    this.#live = false;
    if (this.#disposed || !this.#client.isConnected) return; // onConnected resubscribes

    let token;
    try {
      token = await this.#currentToken();
    } catch (error) {
      this.#ended(generation, error);
      return;
    }
    if (generation !== this.#generation || this.#disposed || !this.#client.isConnected) return;

    const { epoch, offset } = this.position;
    const sinceOffset = epoch ? offset : null; // an offset means nothing without its epoch
    try {
      this.#stream = this.#client.subscribe(this.channel, sinceOffset, epoch || null, token, {
        next: item => {
          if (generation === this.#generation) this.#receive(item, generation);
        },
        error: error => this.#ended(generation, error),
        complete: () => this.#ended(generation, null),
        // SSE: EventSource resumes by itself from the last id it received, which is our position unless a reload
        // holds events back (then resubscribe from the position instead, as after any other end).
        interrupted: () => {
          if (generation !== this.#generation || this.#held) return false;
          this.#setStatus('reconnecting');
          return true;
        },
      });
    } catch (error) {
      this.#ended(generation, error);
    }
  }

  #closeStream() {
    const stream = this.#stream;
    this.#stream = null;
    try {
      stream?.dispose();
    } catch {
      // The connection is already gone, and the server-side stream with it.
    }
  }

  #receive(item, generation) {
    switch (item.type) {
      case 'reconnecting':
        // A status, never in history: its offset is the streamer's last position sent, not a new one. The stream
        // stays open; the next frame (`subscribed` when Redis answers again, or any event) ends the status.
        this.#setStatus('reconnecting');
        return;
      case 'subscribed':
        this.#setStatus('live');
        this.#failures = 0;
        this.position = { epoch: item.epoch || null, offset: item.offset ?? 0 };
        this.#handlers.onSubscribed?.(item);
        if (item.data?.recovered === false) this.#reload(generation);
        else this.#live = true;
        return;
      case 'resubscribe':
        // The server ends this stream (slow consumer, gap, epoch change, shutdown, expired token): go on from what we
        // have, with a fresh token when that was the reason. A replica that shuts down is left for another: the
        // connection is replaced and every subscription resumes on the new one (onConnected); over SSE this stream
        // alone is replaced.
        if (item.data?.reason === 'token_expired') this.#token = null;
        if (item.data?.reason === 'shutdown' && this.#client.transport === 'websockets') {
          this.#generation++;
          this.#closeStream();
          this.#client.reconnect();
          return;
        }
        this.#open();
        return;
      default:
        if (this.#held) this.#held.push(item);
        else this.#deliver(item);
    }
  }

  #setStatus(status) {
    if (this.#status === status) return;
    this.#status = status;
    this.#handlers.onStatus?.(status);
  }

  #deliver(event) {
    this.#setStatus('live'); // events flow again
    // Ephemeral events (presence) are not in history: offset 0, no position.
    if (!(event.offset > 0)) {
      this.#handlers.onEvent(event);
      return;
    }

    const { epoch, offset } = this.position;
    if (!epoch) {
      // The channel had no history when we subscribed; its first event creates the epoch.
      if (event.offset !== (offset ?? 0) + 1) {
        this.position = { epoch: event.epoch, offset: 0 }; // missed the start: replay the new epoch from 1
        this.#open();
        return;
      }
    } else if (event.epoch !== epoch) {
      // History was reset (Redis lost its data or the meta expired): offsets are not comparable.
      // Resubscribing with what we have makes the server answer recovered=false, and we reload.
      this.#open();
      return;
    } else if (event.offset <= offset) {
      return; // already processed
    }

    // Coalesced deltas skip offsets legitimately, so only order matters here, not contiguity.
    this.position = { epoch: event.epoch, offset: event.offset };
    this.#handlers.onEvent(event);
  }

  async #reload(generation) {
    this.#held = [];
    let replayFrom = null;
    try {
      replayFrom = await this.#handlers.reload({ ...this.position });
    } catch (error) {
      console.warn('aiStreaming: reload after unrecovered subscription failed', error);
    }
    if (generation !== this.#generation || this.#disposed) return;

    const held = this.#held ?? [];
    this.#held = null;
    if (replayFrom) {
      this.position = { epoch: replayFrom.epoch, offset: replayFrom.sinceOffset };
      this.#open();
      return;
    }
    this.#live = true;
    for (const event of held) {
      if (generation !== this.#generation) return; // an event asked for a resubscription
      this.#deliver(event);
    }
  }

  #ended(generation, error) {
    if (generation !== this.#generation || this.#disposed) return;
    this.#stream = null;
    // Fetch a fresh token on the retry: a closed EventSource does not say why, and an expired token is one reason.
    if (error && (isTokenError(error) || error instanceof SseClosedError)) this.#token = null;
    if (error instanceof SseClosedError) this.#setStatus('reconnecting'); // over SSE no connection state says it
    if (error && isHubError(error)) this.#handlers.onError?.(error);
    // When the connection drops, SignalR fails its streams before it starts reconnecting; by the time
    // this timer fires the connection is reconnecting and #open waits for onConnected instead.
    setTimeout(() => {
      if (generation === this.#generation) this.#resubscribe();
    }, Math.max(50, retryDelay(this.#failures++)));
  }
}
