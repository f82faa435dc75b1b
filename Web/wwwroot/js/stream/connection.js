// The page's one connection to the streamer tier (docs/protocol.md, "SignalR hub /hubs/stream" and "SSE").
// The streamer replicas sit behind one load-balanced address without affinity (Web's /hubs and /sse proxy to it),
// so nothing may depend on reaching the same replica twice: the hub over WebSockets without negotiate is one
// request to one replica. A browser that cannot use WebSockets streams each channel over plain SSE (/sse/{channel},
// stateless: token in the URL, position in Last-Event-ID), never over SignalR's negotiated transports, whose
// negotiate and later requests must all reach one replica.

import { retryDelay, sleep } from '../retry.js';
import { openSseStream } from './sse.js';

const { HubConnectionBuilder, HubConnectionState, HttpTransportType, LogLevel } = globalThis.signalR;

/** WebSocket starts that may fail in a row, on a page where WebSockets never connected, before it turns to SSE. */
const WEBSOCKET_FAILURES_BEFORE_SSE = 3;
/** How long a WebSocket start may take before it counts as failed (a proxy may hold an upgrade it will not do). */
const WEBSOCKET_START_TIMEOUT_MS = 10_000;

/**
 * The page's connection, reconnecting forever. `state` is one of `connecting`, `connected`, `reconnecting`,
 * `disconnected` (waiting before the next attempt); `transport` is `websockets` (one hub connection carries every
 * subscription) or `sse` (each subscription is its own EventSource; the state is then `connected` and each
 * subscription reports its own interruptions) once connected. Cross-replica recovery is the channel subscriptions'
 * own (offset and epoch), so SignalR's stateful reconnect (same live process only, and it needs negotiate) is not used.
 */
export class StreamClient {
  state = 'disconnected';
  /** The transport: `websockets`, `sse`, or null before the first connection. */
  transport = null;
  /** The current `signalR.HubConnection` (WebSockets only); replaced when a start has to build a new one. */
  connection = null;
  #url;
  #sseUrl;
  #starting = false;
  #replacing = false;
  #webSocketFailures = 0;
  #webSocketsWorked = false;
  #stateListeners = new Set();
  #connectedListeners = new Set();

  /**
   * @param {string} url hub URL, e.g. `/hubs/stream`
   * @param {string} sseUrl SSE endpoint, e.g. `/sse` (channels are `{sseUrl}/{channel}`)
   */
  constructor(url, sseUrl) {
    this.#url = url;
    this.#sseUrl = sseUrl;
  }

  /** True when subscriptions can open: the hub connection is up, or the page streams over SSE. */
  get isConnected() {
    return this.transport === 'sse' || this.connection?.state === HubConnectionState.Connected;
  }

  /**
   * Opens a stream of `channel`'s events from `(epoch, sinceOffset)` (both null: live only) on the current
   * transport. `observer` gets `next(item)`, `error(error)`, `complete()` as from the hub's `Subscribe` stream and,
   * over SSE, `interrupted()` (see stream/sse.js).
   * @returns {{ dispose: () => void }} cancels the stream
   */
  subscribe(channel, sinceOffset, epoch, token, observer) {
    if (this.transport === 'sse') return openSseStream(this.#sseUrl, channel, sinceOffset, epoch, token, observer);
    return this.connection.stream('Subscribe', channel, sinceOffset, epoch, token).subscribe(observer);
  }

  /** Starts the connection, retrying with {@link retryDelay} until it succeeds. */
  async start() {
    if (this.#starting) return;
    this.#starting = true;
    try {
      for (let attempt = 1; !(await this.#startOnce()); attempt++) {
        this.#setState('disconnected');
        await sleep(retryDelay(attempt));
      }
    } finally {
      this.#starting = false;
    }
    this.#connected();
  }

  /**
   * Replaces the connection with a new one, e.g. because its replica is shutting down (`resubscribe{shutdown}`):
   * the balancer hands the new one to a replica that is not draining. Calls while one runs coalesce.
   */
  async reconnect() {
    if (this.#replacing || this.transport === 'sse') return; // over SSE each subscription reconnects by itself
    this.#replacing = true;
    const old = this.connection;
    this.connection = null; // its close is not ours to handle any more
    this.#setState('reconnecting');
    try {
      await old?.stop();
    } catch {
      // Already closed.
    } finally {
      this.#replacing = false;
    }
    await this.start();
  }

  /** @param {(state: string) => void} listener called now and on every change @returns {() => void} unsubscribe */
  onStateChange(listener) {
    this.#stateListeners.add(listener);
    listener(this.state);
    return () => this.#stateListeners.delete(listener);
  }

  /** Called after every (re)connection: subscriptions resume there. @returns {() => void} unsubscribe */
  onConnected(listener) {
    this.#connectedListeners.add(listener);
    return () => this.#connectedListeners.delete(listener);
  }

  // One attempt: the hub over WebSockets without negotiate; SSE when the browser has no WebSocket, or when
  // WebSockets failed every time on this page (a proxy that refuses the upgrade, say). Once one WebSocket connection
  // worked, failures are the servers' and the page keeps to WebSockets.
  async #startOnce() {
    if (this.transport === 'sse') return true;
    const noWebSockets = typeof globalThis.WebSocket !== 'function';
    if (noWebSockets || (!this.#webSocketsWorked && this.#webSocketFailures >= WEBSOCKET_FAILURES_BEFORE_SSE)) {
      console.warn(`aiStreaming: ${noWebSockets ? 'no WebSocket in this browser' : 'WebSockets keep failing'}: streaming over SSE`);
      this.connection = null;
      this.transport = 'sse';
      return true;
    }
    this.#setState('connecting');
    const connection = this.#build();
    this.connection = connection;
    let timer;
    try {
      await Promise.race([
        connection.start(),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no WebSocket connection within ${WEBSOCKET_START_TIMEOUT_MS} ms`)), WEBSOCKET_START_TIMEOUT_MS);
        }),
      ]);
      if (connection !== this.connection) {
        await connection.stop(); // replaced meanwhile (reconnect): the next attempt builds the current one
        return false;
      }
      this.transport = 'websockets';
      this.#webSocketsWorked = true;
      return true;
    } catch (error) {
      this.#webSocketFailures++;
      console.warn('aiStreaming: WebSocket connection failed', error);
      if (connection === this.connection) {
        this.connection = null; // its close, if it ever comes, is not ours to handle
        connection.stop().catch(() => {});
      }
      return false;
    } finally {
      clearTimeout(timer);
    }
  }

  #build() {
    const connection = new HubConnectionBuilder()
      .withUrl(this.#url, { transport: HttpTransportType.WebSockets, skipNegotiation: true })
      .withAutomaticReconnect({ nextRetryDelayInMilliseconds: context => retryDelay(context.previousRetryCount) })
      .configureLogging(LogLevel.Warning)
      .build();
    const current = () => connection === this.connection;
    connection.onreconnecting(() => current() && this.#setState('reconnecting'));
    connection.onreconnected(() => current() && this.#connected());
    // The retry policy never gives up, so a close means the server closed without allowing a reconnect
    // (e.g. it is shutting down): start over, on whichever replica the balancer picks.
    connection.onclose(() => {
      if (!current()) return;
      this.#setState('disconnected');
      this.start();
    });
    return connection;
  }

  #connected() {
    this.#setState('connected');
    for (const listener of this.#connectedListeners) listener();
  }

  #setState(state) {
    if (this.state === state) return;
    this.state = state;
    for (const listener of this.#stateListeners) listener(state);
  }
}
