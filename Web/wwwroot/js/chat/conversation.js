// Opening a conversation: load it from the Api, render it, and subscribe to its channel from the right
// position; after `recovered: false`, reload it from the Api (PostgreSQL is the source of truth).

import { api, ApiError } from '../api.js';
import { retryDelay, sleep } from '../retry.js';
import { ChannelSubscription } from '../stream/subscription.js';
import { ui } from './dom.js';
import { applyEvent, refreshPresence } from './events.js';
import { clearPresence, setStreaming, setTitle, showChannelStatus, showComposerError, showNode } from './indicators.js';
import { clearMessages, renderConversation, upsertMessage } from './messages.js';
import { clearResumePoint, loadResumePoint } from './resume.js';
import { markSelected } from './sidebar.js';
import { client, isPending, view } from './store.js';

/** The conversation id in the URL (`/c/{id}`), or null. */
export const conversationIdFromLocation = () =>
  /^\/c\/([0-9a-f-]{36})\/?$/i.exec(location.pathname)?.[1]?.toLowerCase() ?? null;

const lastAssistant = messages => messages.findLast(message => message.role === 'assistant');

/**
 * Opens conversation `id` (null: a new, not yet created chat): loads it, renders it and subscribes
 * to its channel from the right position. `push` records it in the URL (/c/{id}).
 */
export async function openConversation(id, { push = false } = {}) {
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
  view.subscription = new ChannelSubscription(client, view.channel, startingPoint(messages), {
    getToken: () => api.subscriptionToken(id),
    onEvent: applyEvent,
    onSubscribed: frame => {
      showNode(frame.data?.node);
      refreshPresence(frame.channel ?? view.channel);
    },
    onStatus: showChannelStatus,
    reload,
    onError: error => {
      console.warn('aiStreaming: subscription ended with an error, retrying', error);
      const code = /HubException: (\w+):/.exec(error?.message ?? '')?.[1];
      if (code) showComposerError(`Live updates interrupted (${code}); retrying…`);
    },
  });
}

function closeConversation() {
  view.subscription?.dispose();
  view.subscription = null;
  view.channel = null;
  view.pendingUser = null;
  view.replayAttempted.clear();
  clearMessages();
  setStreaming(null);
  showComposerError(null);
  showChannelStatus('live');
  showNode(null);
  clearPresence();
}

/** Where to subscribe from after loading `messages` from the Api (docs/protocol.md, "Message"). */
function startingPoint(messages) {
  const last = lastAssistant(messages);
  if (!isPending(last?.status)) {
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

/** After `recovered: false`: the Api's state is the truth; continue live from there (SubscriptionHandlers.reload). */
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
  if (!isPending(last?.status)) {
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
