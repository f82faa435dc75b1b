// What the page holds about the open conversation. Modules read and write it; each field has one writer
// named below.

import { StreamClient } from '../stream/connection.js';

/** The page's one connection to the streamer tier: the hub, or SSE without WebSockets (started by chat.js). */
export const client = new StreamClient('/hubs/stream', '/sse');

/**
 * The open conversation. A message model is
 * `{ id, role, content, status, error, reason, queuePosition, live, element, textElement, noteElement, rendered }`
 * (`status`: `sending` | `queued` | `streaming` | `completed` | `failed` | `cancelled`); `live` says `content` is
 * exactly the reply's deltas up to the subscription's position (so it can be saved for resuming), as opposed to
 * text loaded from the Api.
 */
export const view = {
  /** The open conversation's id, null for a new chat not yet created (conversation.js). */
  conversationId: null,
  /** Its channel, `conv:{id}` (conversation.js). */
  channel: null,
  /** Message models by id, in no particular order; the DOM holds the order (messages.js). */
  messages: new Map(),
  /** The id of the reply that is queued or streaming, if any (indicators.js, setStreaming). */
  streamingId: null,
  /** True while a post is on its way (composer.js). */
  sending: false,
  /** `{ localId, content }` from Send until the Api or `message.started` names it (composer.js, events.js). */
  pendingUser: null,
  /** Replies already replayed from history once (conversation.js). */
  replayAttempted: new Set(),
  /** The channel subscription (conversation.js). */
  subscription: null,
  /** Counts conversation opens, so a late answer for one closed since is dropped (conversation.js). */
  openGeneration: 0,
};

/** True while `status` means the reply is still on its way (waiting for a model slot or streaming). */
export const isPending = status => status === 'streaming' || status === 'queued';
