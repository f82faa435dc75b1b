// The composer and the actions it starts: send a message (creating the conversation first when needed),
// stop the reply, start a new chat.

import { api, ApiError } from '../api.js';
import { openConversation } from './conversation.js';
import { ui } from './dom.js';
import { setStreaming, showComposerError, updateComposer } from './indicators.js';
import { renameMessage, upsertMessage } from './messages.js';
import { closeSidebar, refreshConversations } from './sidebar.js';
import { isPending, view } from './store.js';

let localIds = 0;

const newIdempotencyKey = () =>
  globalThis.crypto?.randomUUID?.() ?? `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;

/** What the composer says when a post is refused. */
function describeSendError(error) {
  if (!(error instanceof ApiError)) return `Could not send: ${error.message}`;
  switch (error.status) {
    case 409:
      return 'A reply is still streaming: wait for it or stop it.';
    case 429: {
      const wait = error.retryAfterSeconds;
      return `Rate limited: you are sending too fast. ${wait ? `Try again in ${wait} s.` : 'Try again in a moment.'}`;
    }
    default:
      return `Could not send: ${error.message}`;
  }
}

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
    // message.queued or message.started may already have created the reply (or it even finished): only add what is missing.
    const reply = view.messages.get(accepted.messageId)
      ?? upsertMessage({ id: accepted.messageId, role: 'assistant', content: '', status: 'streaming' });
    if (isPending(reply.status)) setStreaming(accepted.messageId);
  } catch (error) {
    if (conversationId !== view.conversationId) return;
    const failed = localId && view.messages.get(localId);
    if (failed) upsertMessage({ id: localId, status: 'failed', error: { code: String(error.status ?? ''), message: error.message } });
    if (view.pendingUser?.localId === localId) view.pendingUser = null;
    if (!ui.input.value) {
      ui.input.value = content;
      resizeInput();
    }
    showComposerError(describeSendError(error));
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

/** Wires the composer (Enter sends, Shift+Enter adds a line), Stop and New chat. */
export function initComposer() {
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
}
