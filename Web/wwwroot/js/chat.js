// The chat page: conversations from the Api, replies streamed from the streamer tier.
// Protocol: docs/protocol.md. Channel mechanics (positions, recovery, reconnection) live in streaming.js.

import { api, ApiError } from './api.js';
import { renderMarkdown } from './markdown.js';
import { StreamClient, retryDelay, sleep } from './streaming.js';

const byId = id => document.getElementById(id);
const ui = {
  app: document.querySelector('.app'),
  sidebarToggle: byId('sidebar-toggle'),
  list: byId('conversation-list'),
  newConversation: byId('new-conversation'),
  connectionState: byId('connection-state'),
  title: byId('chat-title'),
  presence: byId('presence'),
  messages: byId('messages'),
  emptyState: byId('empty-state'),
  composer: byId('composer'),
  input: byId('message-input'),
  send: byId('send'),
  stop: byId('stop'),
  composerError: byId('composer-error'),
  announcer: byId('announcer'),
};

const CONNECTION_LABELS = {
  connecting: 'Connecting…',
  connected: 'Connected',
  reconnecting: 'Reconnecting…',
  disconnected: 'Offline, retrying…',
};

const client = new StreamClient('/hubs/stream');

/**
 * Everything about the open conversation. A message model is
 * `{ id, role, content, status, error, live, element, textElement, noteElement, rendered }`;
 * `live` says `content` is exactly the reply's deltas up to the subscription's position (so it can be
 * saved for resuming), as opposed to text loaded from the Api.
 */
const view = {
  conversationId: null,
  channel: null,
  messages: new Map(),
  streamingId: null,
  sending: false,
  pendingUser: null, // { localId, content } from Send until the Api or message.started names it
  replayAttempted: new Set(),
  subscription: null,
  openGeneration: 0,
};

let localIds = 0;

// ---------------------------------------------------------------- rendering

const dirty = new Set();
let renderScheduled = false;

// Re-rendering markdown per token would be quadratic; once per animation frame is as smooth as the eye
// sees. Hidden tabs get no animation frames, so they fall back to a timer (and stay current for a reload).
function scheduleRender(message) {
  dirty.add(message);
  if (renderScheduled) return;
  renderScheduled = true;
  if (document.hidden) setTimeout(flushRender, 250);
  else requestAnimationFrame(flushRender);
}

function flushRender() {
  renderScheduled = false;
  const stickToBottom = isNearBottom();
  for (const message of dirty) renderMessage(message);
  dirty.clear();
  saveResumePoint();
  if (stickToBottom) ui.messages.scrollTop = ui.messages.scrollHeight;
}

function isNearBottom() {
  const { scrollTop, scrollHeight, clientHeight } = ui.messages;
  return scrollHeight - scrollTop - clientHeight < 80;
}

function renderMessage(message) {
  const { element, textElement, noteElement } = message;
  element.dataset.messageId = message.id;
  element.dataset.role = message.role;
  element.dataset.status = message.status;
  element.setAttribute('aria-busy', String(message.status === 'streaming'));

  if (message.rendered !== message.content) {
    if (message.role === 'assistant') renderMarkdown(textElement, message.content);
    else textElement.textContent = message.content;
    message.rendered = message.content;
  }

  const note = describeStatus(message);
  noteElement.hidden = !note;
  noteElement.textContent = note;
}

function describeStatus(message) {
  switch (message.status) {
    case 'failed':
      if (message.role === 'user') return `Not sent: ${message.error?.message ?? 'the request failed'}`;
      return `Failed${message.error?.code ? ` (${message.error.code})` : ''}: ${message.error?.message ?? 'the reply could not be completed.'}`;
    case 'cancelled':
      return 'Stopped.';
    default:
      return '';
  }
}

function createMessage(id, role) {
  const element = document.createElement('article');
  element.className = `message message-${role === 'user' ? 'user' : 'assistant'}`;
  element.dataset.testid = 'message';
  element.dataset.messageId = id;
  element.dataset.role = role;
  element.dataset.status = 'completed';

  const author = document.createElement('div');
  author.className = 'message-author';
  author.textContent = role === 'user' ? 'You' : 'Assistant';

  const textElement = document.createElement('div');
  textElement.className = 'message-text';
  textElement.dataset.testid = 'message-text';

  const noteElement = document.createElement('p');
  noteElement.className = 'message-note';
  noteElement.dataset.testid = 'message-note';
  noteElement.hidden = true;

  element.append(author, textElement, noteElement);
  ui.messages.append(element);
  const message = { id, role, content: '', status: 'completed', error: null, live: false, element, textElement, noteElement, rendered: null };
  view.messages.set(id, message);
  updateEmptyState();
  return message;
}

/** Creates or updates a message; fields not given are left as they are. */
function upsertMessage({ id, role = 'assistant', ...fields }) {
  const message = view.messages.get(id) ?? createMessage(id, role);
  Object.assign(message, fields);
  scheduleRender(message);
  return message;
}

function renameMessage(fromId, toId) {
  const message = view.messages.get(fromId);
  if (!message) return;
  view.messages.delete(fromId);
  if (view.messages.has(toId)) {
    message.element.remove(); // the same message already arrived under its real id
    return;
  }
  message.id = toId;
  message.element.dataset.messageId = toId;
  view.messages.set(toId, message);
  scheduleRender(message);
}

/** Shows the Api's messages in its order; keeps an unsent local message at the end. */
function renderConversation(messages) {
  const keep = new Set();
  for (const data of messages) {
    keep.add(data.id);
    const message = upsertMessage({
      id: data.id,
      role: data.role,
      content: data.content ?? '',
      status: data.status ?? 'completed',
      error: data.error ?? null,
      live: false,
    });
    ui.messages.append(message.element);
  }
  for (const [id, message] of view.messages) {
    if (keep.has(id)) continue;
    if (id === view.pendingUser?.localId) ui.messages.append(message.element);
    else {
      message.element.remove();
      view.messages.delete(id);
    }
  }
  updateEmptyState();
}

function clearMessages() {
  for (const message of view.messages.values()) message.element.remove();
  view.messages.clear();
  dirty.clear();
  updateEmptyState();
}

function updateEmptyState() {
  ui.emptyState.hidden = view.messages.size > 0;
}

function setStreaming(messageId) {
  view.streamingId = messageId;
  ui.stop.hidden = !messageId;
  ui.stop.disabled = false;
  updateComposer();
}

function updateComposer() {
  ui.send.disabled = view.sending || Boolean(view.streamingId);
}

function showComposerError(text) {
  ui.composerError.textContent = text ?? '';
  ui.composerError.hidden = !text;
}

/** Shows the watcher count; with `users` ({name, tabs}[] from GetPresence), who they are. */
function setPresence(count, users) {
  if (typeof count !== 'number') return;
  ui.presence.dataset.count = String(count);
  ui.presence.textContent = `${count} watching`;
  if (Array.isArray(users)) {
    const names = users.map(user => (user.tabs > 1 ? `${user.name} (${user.tabs} tabs)` : user.name)).join(', ');
    ui.presence.dataset.users = names;
    ui.presence.title = names;
  }
}

function setTitle(title) {
  const text = title || (view.conversationId ? 'Untitled chat' : 'New chat');
  ui.title.textContent = text;
  document.title = `${text} · AiStreaming`;
}

function announce(text) {
  ui.announcer.textContent = text;
}

// ---------------------------------------------------------------- resume after reload

// Per tab (sessionStorage): the position and text of the reply being streamed, so a reload renders the
// text at once and asks only for what came after it.
const resumeKey = channel => `aiStreaming.resume.${channel}`;

function saveResumePoint() {
  const subscription = view.subscription;
  const message = view.streamingId && view.messages.get(view.streamingId);
  if (!subscription || subscription.isReloading || !message?.live || message.status !== 'streaming') return;
  const { epoch, offset } = subscription.position;
  if (!epoch || typeof offset !== 'number') return;
  try {
    sessionStorage.setItem(resumeKey(subscription.channel), JSON.stringify({ epoch, offset, messageId: message.id, text: message.content }));
  } catch {
    // Storage full or disabled: resuming falls back to replaying the reply from history.
  }
}

function loadResumePoint(channel) {
  try {
    const saved = JSON.parse(sessionStorage.getItem(resumeKey(channel)) ?? 'null');
    const valid = saved && typeof saved.epoch === 'string' && Number.isInteger(saved.offset)
      && typeof saved.messageId === 'string' && typeof saved.text === 'string';
    return valid ? saved : null;
  } catch {
    return null;
  }
}

function clearResumePoint(channel) {
  try {
    if (channel) sessionStorage.removeItem(resumeKey(channel));
  } catch {
    // Nothing to clear.
  }
}

const lastAssistant = messages => messages.findLast(message => message.role === 'assistant');

/** Where to subscribe from after loading `messages` from the Api (docs/protocol.md, "Message"). */
function startingPoint(messages) {
  const last = lastAssistant(messages);
  if (last?.status !== 'streaming') {
    clearResumePoint(view.channel);
    return { sinceOffset: null, epoch: null };
  }

  setStreaming(last.id);
  const saved = loadResumePoint(view.channel);
  if (saved && saved.messageId === last.id && saved.epoch === last.epoch) {
    upsertMessage({ id: last.id, content: saved.text, live: true });
    return { sinceOffset: saved.offset, epoch: saved.epoch };
  }
  if (last.epoch && Number.isInteger(last.startOffset)) {
    // Replay the reply from its message.started, so this tab shows all of it, not just what comes next.
    view.replayAttempted.add(last.id);
    return { sinceOffset: last.startOffset - 1, epoch: last.epoch };
  }
  return { sinceOffset: null, epoch: null };
}

// ---------------------------------------------------------------- channel events

function applyEvent(event) {
  const data = event.data ?? {};
  switch (event.type) {
    case 'message.started': {
      const user = data.userMessage;
      if (user?.id && !view.messages.has(user.id)) {
        const pending = view.pendingUser;
        if (pending && pending.content === user.content) {
          renameMessage(pending.localId, user.id);
          upsertMessage({ id: user.id, role: 'user', status: 'completed' });
          view.pendingUser = null;
        } else {
          upsertMessage({ id: user.id, role: 'user', content: user.content ?? '', status: 'completed', error: null });
        }
      }
      // All of the reply's deltas follow this event: its text starts from empty.
      upsertMessage({ id: event.messageId, role: data.role ?? 'assistant', content: '', status: 'streaming', error: null, live: true });
      setStreaming(event.messageId);
      break;
    }
    case 'delta': {
      const message = view.messages.get(event.messageId)
        ?? upsertMessage({ id: event.messageId, role: 'assistant', status: 'streaming' });
      message.content += data.text ?? '';
      scheduleRender(message);
      break;
    }
    case 'message.completed':
      finish(event, 'completed', null, 'Reply complete.');
      break;
    case 'message.failed':
      finish(event, 'failed', { code: data.code ?? null, message: data.message ?? null }, 'Reply failed.');
      break;
    case 'message.cancelled':
      finish(event, 'cancelled', null, 'Reply stopped.');
      break;
    case 'presence':
    case 'presence.join':
    case 'presence.leave':
      setPresence(data.count);
      refreshPresence(view.channel);
      break;
    default:
      break; // unknown types are ignored: the protocol may grow
  }
}

// The final event carries the authoritative text: it replaces whatever the deltas built.
function finish(event, status, error, announcement) {
  const message = view.messages.get(event.messageId);
  const text = event.data?.text ?? message?.content ?? '';
  upsertMessage({ id: event.messageId, role: 'assistant', content: text, status, error, live: false });
  if (view.streamingId === event.messageId) setStreaming(null);
  clearResumePoint(view.channel);
  announce(announcement);
  refreshConversations();
}

/** After `recovered: false`: the Api's state is the truth; continue live from there. */
async function reload(position) {
  const { conversationId, channel } = view;
  let conversation;
  for (let attempt = 1; ; attempt++) {
    try {
      conversation = await api.getConversation(conversationId);
      break;
    } catch (error) {
      if (attempt >= 5 || (error instanceof ApiError && error.status === 404)) throw error;
      await sleep(retryDelay(attempt));
    }
  }
  if (channel !== view.channel) return null;

  const messages = conversation.messages ?? [];
  setTitle(conversation.title);
  renderConversation(messages);
  const last = lastAssistant(messages);
  if (last?.status !== 'streaming') {
    setStreaming(null);
    clearResumePoint(channel);
    return null;
  }

  setStreaming(last.id);
  // The reply started before the live point: replay it from history once. If history cannot serve
  // it either, keep the Api's text and the live deltas; message.completed brings the final text.
  const startedBefore = Number.isInteger(last.startOffset) && last.epoch === position.epoch && last.startOffset <= position.offset;
  if (startedBefore && !view.replayAttempted.has(last.id)) {
    view.replayAttempted.add(last.id);
    return { sinceOffset: last.startOffset - 1, epoch: last.epoch };
  }
  return null;
}

function onSubscribed(frame) {
  refreshPresence(frame.channel ?? view.channel);
}

function refreshPresence(channel) {
  client.connection.invoke('GetPresence', channel, view.subscription?.token ?? null)
    .then(presence => {
      if (channel === view.channel) setPresence(presence?.count, presence?.users);
    })
    .catch(error => console.warn('aiStreaming: GetPresence failed', error));
}

function onStreamError(error) {
  console.warn('aiStreaming: subscription ended with an error, retrying', error);
  const code = /HubException: (\w+):/.exec(error?.message ?? '')?.[1];
  if (code) showComposerError(`Live updates interrupted (${code}); retrying…`);
}

// ---------------------------------------------------------------- conversations

const conversationIdFromLocation = () =>
  /^\/c\/([0-9a-f-]{36})\/?$/i.exec(location.pathname)?.[1]?.toLowerCase() ?? null;

function closeConversation() {
  view.subscription?.dispose();
  view.subscription = null;
  view.channel = null;
  view.pendingUser = null;
  view.replayAttempted.clear();
  clearMessages();
  setStreaming(null);
  showComposerError(null);
  ui.presence.textContent = '';
  delete ui.presence.dataset.count;
}

/**
 * Opens conversation `id` (null: a new, not yet created chat): loads it, renders it and subscribes
 * to its channel from the right position. `push` records it in the URL (/c/{id}).
 */
async function openConversation(id, { push = false } = {}) {
  const generation = ++view.openGeneration;
  closeConversation();
  view.conversationId = id;
  if (push) history.pushState({ id }, '', id ? `/c/${id}` : '/');
  markSelected();
  setTitle(null);
  if (!id) return;

  ui.messages.setAttribute('aria-busy', 'true');
  let conversation;
  try {
    conversation = await api.getConversation(id);
  } catch (error) {
    if (generation !== view.openGeneration) return;
    ui.messages.setAttribute('aria-busy', 'false');
    const notFound = error instanceof ApiError && error.status === 404;
    showComposerError(notFound ? 'That conversation does not exist.' : `Could not load the conversation: ${error.message}`);
    if (notFound) {
      view.conversationId = null;
      history.replaceState(null, '', '/');
      markSelected();
    }
    return;
  }
  if (generation !== view.openGeneration) return;
  ui.messages.setAttribute('aria-busy', 'false');

  view.channel = conversation.channel ?? `conv:${id}`;
  const messages = conversation.messages ?? [];
  setTitle(conversation.title);
  renderConversation(messages);
  const start = startingPoint(messages);
  view.subscription = client.subscribe(view.channel, start, {
    getToken: () => api.subscriptionToken(id),
    onEvent: applyEvent,
    onSubscribed,
    reload,
    onError: onStreamError,
  });
}

let conversationsRefresh = null;
let conversationsRefreshAgain = false;

/** Reloads the sidebar list; calls while one is running coalesce into one more. */
function refreshConversations() {
  if (conversationsRefresh) {
    conversationsRefreshAgain = true;
    return conversationsRefresh;
  }
  conversationsRefresh = (async () => {
    do {
      conversationsRefreshAgain = false;
      try {
        renderConversationList(await api.listConversations());
      } catch (error) {
        console.warn('aiStreaming: could not load conversations', error);
      }
    } while (conversationsRefreshAgain);
    conversationsRefresh = null;
  })();
  return conversationsRefresh;
}

const timeFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

function renderConversationList(conversations) {
  const items = conversations.map(conversation => {
    const item = document.createElement('li');
    const link = document.createElement('a');
    link.href = `/c/${conversation.id}`;
    link.className = 'conversation-link';
    link.dataset.testid = 'conversation';
    link.dataset.conversationId = conversation.id;

    const title = document.createElement('span');
    title.className = 'conversation-title';
    title.textContent = conversation.title || 'Untitled chat';
    link.append(title);

    const when = new Date(conversation.updatedAt ?? conversation.createdAt);
    if (!Number.isNaN(when.getTime())) {
      const time = document.createElement('time');
      time.dateTime = when.toISOString();
      time.textContent = timeFormat.format(when);
      link.append(time);
    }
    item.append(link);
    return item;
  });
  ui.list.replaceChildren(...items);
  ui.list.setAttribute('aria-busy', 'false');
  markSelected();
  // The Api may title a conversation after its first message.
  const open = conversations.find(conversation => conversation.id === view.conversationId);
  if (open) setTitle(open.title);
}

function markSelected() {
  for (const link of ui.list.querySelectorAll('a[data-conversation-id]')) {
    if (link.dataset.conversationId === view.conversationId) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
}

// ---------------------------------------------------------------- actions

const newIdempotencyKey = () =>
  globalThis.crypto?.randomUUID?.() ?? `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;

async function sendMessage() {
  const content = ui.input.value.trim();
  if (!content || view.sending || view.streamingId) return;
  showComposerError(null);
  view.sending = true;
  updateComposer();

  let localId = null;
  let conversationId = view.conversationId;
  try {
    if (!conversationId) {
      const created = await api.createConversation();
      await openConversation(created.id, { push: true });
      conversationId = created.id;
      refreshConversations();
    }
    if (conversationId !== view.conversationId) return;

    localId = `local-${++localIds}`;
    upsertMessage({ id: localId, role: 'user', content, status: 'sending' });
    view.pendingUser = { localId, content };
    ui.input.value = '';
    resizeInput();

    const accepted = await api.postMessage(conversationId, content, newIdempotencyKey());
    if (conversationId !== view.conversationId) return;

    if (view.pendingUser?.localId === localId) {
      renameMessage(localId, accepted.userMessageId);
      view.pendingUser = null;
    }
    upsertMessage({ id: accepted.userMessageId, role: 'user', status: 'completed' });
    // message.started may already have created the reply (or even finished it): only add what is missing.
    const reply = view.messages.get(accepted.messageId)
      ?? upsertMessage({ id: accepted.messageId, role: 'assistant', content: '', status: 'streaming' });
    if (reply.status === 'streaming') setStreaming(accepted.messageId);
  } catch (error) {
    if (conversationId !== view.conversationId) return;
    const failed = localId && view.messages.get(localId);
    if (failed) upsertMessage({ id: localId, status: 'failed', error: { code: String(error.status ?? ''), message: error.message } });
    if (view.pendingUser?.localId === localId) view.pendingUser = null;
    if (!ui.input.value) {
      ui.input.value = content;
      resizeInput();
    }
    showComposerError(error instanceof ApiError && error.status === 409
      ? 'A reply is still streaming: wait for it or stop it.'
      : error instanceof ApiError && error.status === 429
        ? `Slow down: ${error.message}`
        : `Could not send: ${error.message}`);
  } finally {
    view.sending = false;
    updateComposer();
  }
  refreshConversations();
}

async function stopReply() {
  const { conversationId, streamingId } = view;
  if (!conversationId || !streamingId) return;
  ui.stop.disabled = true;
  try {
    await api.cancel(conversationId, streamingId);
    // message.cancelled (or completed, if it won the race) arrives on the channel.
  } catch (error) {
    if (error instanceof ApiError && error.status === 409) return; // already finished
    ui.stop.disabled = false;
    showComposerError(`Could not stop the reply: ${error.message}`);
  }
}

async function newConversation() {
  ui.newConversation.disabled = true;
  showComposerError(null);
  try {
    const created = await api.createConversation();
    await openConversation(created.id, { push: true });
    await refreshConversations();
    closeSidebar();
    ui.input.focus();
  } catch (error) {
    showComposerError(`Could not create a conversation: ${error.message}`);
  } finally {
    ui.newConversation.disabled = false;
  }
}

function resizeInput() {
  ui.input.style.height = 'auto';
  ui.input.style.height = `${Math.min(ui.input.scrollHeight, 240)}px`;
}

function closeSidebar() {
  ui.app.classList.remove('sidebar-open');
  ui.sidebarToggle.setAttribute('aria-expanded', 'false');
}

// ---------------------------------------------------------------- wiring

ui.composer.addEventListener('submit', event => {
  event.preventDefault();
  sendMessage();
});

ui.input.addEventListener('keydown', event => {
  if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    sendMessage();
  }
});
ui.input.addEventListener('input', resizeInput);

ui.stop.addEventListener('click', stopReply);
ui.newConversation.addEventListener('click', newConversation);

ui.list.addEventListener('click', event => {
  const link = event.target.closest('a[data-conversation-id]');
  if (!link || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  event.preventDefault();
  closeSidebar();
  if (link.dataset.conversationId !== view.conversationId) openConversation(link.dataset.conversationId, { push: true });
});

ui.sidebarToggle.addEventListener('click', () => {
  const open = ui.app.classList.toggle('sidebar-open');
  ui.sidebarToggle.setAttribute('aria-expanded', String(open));
});

window.addEventListener('popstate', () => openConversation(conversationIdFromLocation()));

// rAF-throttled saves can lag a frame behind: save once more when the page goes away or out of sight.
window.addEventListener('pagehide', saveResumePoint);
document.addEventListener('visibilitychange', saveResumePoint);

client.onStateChange(state => {
  ui.connectionState.dataset.state = state;
  ui.connectionState.textContent = CONNECTION_LABELS[state] ?? state;
  if (state === 'connected' && ui.composerError.textContent.startsWith('Live updates')) showComposerError(null);
});

/** For browser tests and debugging: a snapshot of what this tab holds. */
window.aiStreaming = {
  state: () => ({
    connection: client.state,
    channel: view.channel,
    epoch: view.subscription?.position.epoch ?? null,
    offset: view.subscription?.position.offset ?? null,
    subscribed: view.subscription?.isLive ?? false,
    conversationId: view.conversationId,
    streamingMessageId: view.streamingId,
    messages: [...ui.messages.querySelectorAll('[data-testid="message"]')]
      .map(element => view.messages.get(element.dataset.messageId))
      .filter(Boolean)
      .map(({ id, role, status, content, error }) => ({ id, role, status, text: content, error })),
  }),
};

client.start();
refreshConversations();
openConversation(ui.app.dataset.conversationId || conversationIdFromLocation());
