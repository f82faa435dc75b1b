// The page's one connection to the streamer tier's hub (docs/protocol.md, "SignalR hub /hubs/stream").
// The streamer replicas sit behind one load-balanced address (Web's /hubs proxies to it), so the connection must
// not depend on reaching the same replica twice: WebSockets without negotiate is one request to one replica.
// Only where WebSockets are unavailable does it fall back to SignalR's negotiated transports (SSE, long polling),
// which need the balancer's sticky-session cookie to keep negotiate and every later request on one replica.

import { retryDelay, sleep } from '../retry.js';

const { HubConnectionBuilder, HubConnectionState, HttpTransportType, LogLevel } = globalThis.signalR;

/** Transport choices, in the order tried: `websockets` (no negotiate, no affinity), then `negotiated`. */
const TRANSPORTS = {
  websockets: { transport: HttpTransportType.WebSockets, skipNegotiation: true },
  negotiated: { transport: HttpTransportType.ServerSentEvents | HttpTransportType.LongPolling },
};

/**
 * One hub connection per page, reconnecting forever. `state` is one of `connecting`, `connected`,
 * `reconnecting`, `disconnected` (waiting before the next attempt); `transport` is `websockets` or
 * `negotiated` once connected. Cross-replica recovery is the channel subscriptions' own (offset and epoch),
 * so SignalR's stateful reconnect (same live process only, and it needs negotiate) is not used.
 */
export class StreamClient {
  state = 'disconnected';
  /** The transport choice of the current connection: `websockets`, `negotiated`, or null before the first. */
  transport = null;
  /** The current `signalR.HubConnection`; replaced when a start has to build a new one. */
  connection = null;
  #url;
  #starting = false;
  #replacing = false;
  #stateListeners = new Set();
  #connectedListeners = new Set();

  /** @param {string} url hub URL, e.g. `/hubs/stream` */
  constructor(url) {
    this.#url = url;
  }

  get isConnected() {
    return this.connection?.state === HubConnectionState.Connected;
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
    if (this.#replacing) return;
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

  // One attempt: WebSockets first (when the browser has them), then the negotiated transports.
  async #startOnce() {
    const choices = typeof globalThis.WebSocket === 'function' ? ['websockets', 'negotiated'] : ['negotiated'];
    for (const choice of choices) {
      this.#setState('connecting');
      const connection = this.#build(choice);
      this.connection = connection;
      try {
        await connection.start();
        if (connection !== this.connection) {
          await connection.stop(); // replaced meanwhile (reconnect): the next attempt builds the current one
          return false;
        }
        this.transport = choice;
        return true;
      } catch (error) {
        console.warn(`aiStreaming: ${choice} connection failed`, error);
      }
    }
    return false;
  }

  #build(choice) {
    const connection = new HubConnectionBuilder()
      .withUrl(this.#url, TRANSPORTS[choice])
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
