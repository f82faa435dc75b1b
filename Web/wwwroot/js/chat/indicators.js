// What the page shows about its own state outside the messages: the live-updates status, the composer's
// buttons and error line, the title, the watcher count and the screen-reader announcer.

import { ui } from './dom.js';
import { view } from './store.js';

const CONNECTION_LABELS = {
  connecting: 'Connecting…',
  connected: 'Connected',
  reconnecting: 'Reconnecting…',
  disconnected: 'Offline, retrying…',
};

let connectionState = 'connecting';
let channelStatus = 'live';

/** The hub connection's state (`StreamClient.state`), and its transport once connected. */
export function showConnection(state, transport) {
  connectionState = state;
  if (transport) ui.connectionState.dataset.transport = transport;
  renderConnection();
  if (state === 'connected' && ui.composerError.textContent.startsWith('Live updates')) showComposerError(null);
}

/** The streamer replica serving the open channel (`subscribed` frame's `node`, `host:pid`), as `data-node` for diagnostics. */
export function showNode(node) {
  if (node) ui.connectionState.dataset.node = node;
  else delete ui.connectionState.dataset.node;
}

/**
 * The open channel's status (`ChannelSubscription` `onStatus`): `reconnecting` while the streamer waits for
 * Redis (shown as "Reconnecting…" although the connection is up), `live` otherwise.
 */
export function showChannelStatus(status) {
  channelStatus = status;
  renderConnection();
}

function renderConnection() {
  const state = connectionState === 'connected' && channelStatus === 'reconnecting' ? 'reconnecting' : connectionState;
  ui.connectionState.dataset.state = state;
  ui.connectionState.textContent = CONNECTION_LABELS[state] ?? state;
  ui.headerConnectionState.hidden = state === 'connected';
  ui.headerConnectionState.textContent = ui.connectionState.textContent;
  ui.connectionState.title = channelStatus === 'reconnecting'
    ? 'Live updates are paused: the streaming service or its data store is out of reach. The reply continues when it is back.'
    : '';
}

/** Marks `messageId` as the reply on its way (null: none): Stop shows, Send waits. */
export function setStreaming(messageId) {
  view.streamingId = messageId;
  ui.stop.hidden = !messageId;
  ui.stop.disabled = false;
  updateComposer();
}

/** Send is disabled while a post is on its way or a reply is queued or streaming. */
export function updateComposer() {
  ui.send.disabled = view.sending || Boolean(view.streamingId);
}

/** Shows `text` under the composer (`role="alert"`); null hides it. */
export function showComposerError(text) {
  ui.composerError.textContent = text ?? '';
  ui.composerError.hidden = !text;
}

/** Shows the watcher count; with `users` ({name, tabs}[] from GetPresence), who they are. */
export function setPresence(count, users) {
  if (typeof count !== 'number') return;
  ui.presence.dataset.count = String(count);
  ui.presence.textContent = `${count} watching`;
  if (Array.isArray(users)) {
    const names = users.map(user => (user.tabs > 1 ? `${user.name} (${user.tabs} tabs)` : user.name)).join(', ');
    ui.presence.dataset.users = names;
    ui.presence.title = names;
  }
}

/** Clears the watcher count (no conversation open). */
export function clearPresence() {
  ui.presence.textContent = '';
  delete ui.presence.dataset.count;
}

/** The heading and the document title; null: the conversation's placeholder. */
export function setTitle(title) {
  const text = title || (view.conversationId ? 'Untitled chat' : 'New chat');
  ui.title.textContent = text;
  document.title = `${text} · AiStreaming`;
}

/** Says `text` to screen readers (a polite live region). */
export function announce(text) {
  ui.announcer.textContent = text;
}
