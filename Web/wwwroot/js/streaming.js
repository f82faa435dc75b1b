// Client of the streamer tier's hub (docs/protocol.md, "SignalR hub /hubs/stream").
// Generic like the tier itself: channels, offsets, epochs and recovery; nothing here knows about chat.

const { HubConnectionBuilder, HubConnectionState, LogLevel } = globalThis.signalR;

const RETRY_DELAYS_MS = [0, 500, 1000, 2000, 5000];

/**
 * Delay before retry number `attempt` (0-based): 0, 0.5, 1, 2, 5 s, then 5 s forever.
 * ±20 % jitter, so the clients of a lost replica do not all come back in the same instant.
 * @param {number} attempt
 */
export function retryDelay(attempt) {
  const base = RETRY_DELAYS_MS[Math.min(attempt, RETRY_DELAYS_MS.length - 1)];
  return base === 0 ? 0 : Math.round(base * (0.8 + Math.random() * 0.4));
}

export const sleep = ms => new Promise(resolve => setTimeout(resolve, ms));

const isHubError = error => /HubException/.test(error?.message ?? '');
const isTokenError = error => /HubException: (forbidden|token_expired)/.test(error?.message ?? '');

// Refresh a subscription token when this share of its lifetime has passed (resubscribing from the last position).
const TOKEN_REFRESH_SHARE = 0.8;

/**
 * One hub connection per page, reconnecting forever. `state` is one of
 * `connecting`, `connected`, `reconnecting`, `disconnected` (waiting before the next attempt).
 */
export class StreamClient {
  state = 'disconnected';
  #starting = false;
  #stateListeners = new Set();
  #restoredListeners = new Set();

  /** @param {string} url hub URL, e.g. `/hubs/stream` */
  constructor(url) {
    this.connection = new HubConnectionBuilder()
      .withUrl(url)
      .withAutomaticReconnect({ nextRetryDelayInMilliseconds: context => retryDelay(context.previousRetryCount) })
      // Same-node blips only (WebSockets, same live process); cross-node recovery is the channel's own.
      .withStatefulReconnect()
      .configureLogging(LogLevel.Warning)
      .build();

    this.connection.onreconnecting(() => this.#setState('reconnecting'));
    this.connection.onreconnected(() => this.#connected());
    // The retry policy never gives up, so a close means the server closed without allowing a
    // reconnect (e.g. it is shutting down): start over, on whichever replica the proxy picks.
    this.connection.onclose(() => {
      this.#setState('disconnected');
      this.start();
    });
  }

  get isConnected() {
    return this.connection.state === HubConnectionState.Connected;
  }

  /** Starts the connection, retrying with {@link retryDelay} until it succeeds. */
  async start() {
    if (this.#starting) return;
    this.#starting = true;
    try {
      for (let attempt = 1; ; attempt++) {
        this.#setState('connecting');
        try {
          await this.connection.start();
          break;
        } catch (error) {
          this.#setState('disconnected');
          console.warn('aiStreaming: connection failed, retrying', error);
          await sleep(retryDelay(attempt));
        }
      }
    } finally {
      this.#starting = false;
    }
    this.#connected();
  }

  /** @param {(state: string) => void} listener @returns {() => void} unsubscribe */
  onStateChange(listener) {
    this.#stateListeners.add(listener);
    listener(this.state);
    return () => this.#stateListeners.delete(listener);
  }

  /** Called after every (re)connection: subscriptions resume there. @returns {() => void} unsubscribe */
  onConnected(listener) {
    this.#restoredListeners.add(listener);
    return () => this.#restoredListeners.delete(listener);
  }

  /**
   * Subscribes to `channel` from `start` (`{ sinceOffset, epoch }`, both null for live only).
   * @param {string} channel
   * @param {{ sinceOffset: number | null, epoch: string | null }} start
   * @param {SubscriptionHandlers} handlers
   */
  subscribe(channel, start, handlers) {
    return new ChannelSubscription(this, channel, start, handlers);
  }

  #connected() {
    this.#setState('connected');
    for (const listener of this.#restoredListeners) listener();
  }

  #setState(state) {
    if (this.state === state) return;
    this.state = state;
    for (const listener of this.#stateListeners) listener(state);
  }
}

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

  /** Unsubscribes (cancels the hub stream); no handler is called afterwards. */
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

  // Opens a new hub stream from `position`. Every stream has a generation: callbacks of an older one are ignored.
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
      this.#stream = this.#client.connection
        .stream('Subscribe', this.channel, sinceOffset, epoch || null, token)
        .subscribe({
          next: item => {
            if (generation === this.#generation) this.#receive(item, generation);
          },
          error: error => this.#ended(generation, error),
          complete: () => this.#ended(generation, null),
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
      case 'subscribed':
        this.#failures = 0;
        this.position = { epoch: item.epoch || null, offset: item.offset ?? 0 };
        this.#handlers.onSubscribed?.(item);
        if (item.data?.recovered === false) this.#reload(generation);
        else this.#live = true;
        return;
      case 'resubscribe':
        // The server ends this stream (slow consumer, gap, epoch change, shutdown, expired token): go on from what we
        // have, with a fresh token when that was the reason.
        if (item.data?.reason === 'token_expired') this.#token = null;
        this.#open();
        return;
      default:
        if (this.#held) this.#held.push(item);
        else this.#deliver(item);
    }
  }

  #deliver(event) {
    // Presence is not in history: offset 0, no position.
    if (event.type === 'presence' || event.type?.startsWith('presence.')) {
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
    if (error && isTokenError(error)) this.#token = null; // fetch a fresh one on the retry
    if (error && isHubError(error)) this.#handlers.onError?.(error);
    // When the connection drops, SignalR fails its streams before it starts reconnecting; by the time
    // this timer fires the connection is reconnecting and #open waits for onConnected instead.
    setTimeout(() => {
      if (generation === this.#generation) this.#resubscribe();
    }, Math.max(50, retryDelay(this.#failures++)));
  }
}
