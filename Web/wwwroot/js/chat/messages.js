// The message list: one <article data-testid="message"> per message model (store.js), rendered at most once
// per animation frame. Its `data-status` and its note say what the message is doing, in words.

import { renderMarkdown } from '../markdown.js';
import { ui } from './dom.js';
import { saveResumePoint } from './resume.js';
import { view } from './store.js';

// What the page says about a reply that failed, by `message.failed` code (docs/protocol.md, "Event").
const FAILURES = {
  queue_timeout: 'The model was busy: the reply waited too long for its turn. Try again.',
  first_token_timeout: 'The model did not start answering in time.',
  inactivity_timeout: 'The model stopped answering mid-reply.',
  total_timeout: 'The reply took too long and was cut off.',
  model_error: 'The model returned an error.',
  generation_lost: 'The server writing the reply stopped; the text so far is kept.',
};

const dirty = new Set();
let renderScheduled = false;

// Re-rendering markdown per token would be quadratic; once per animation frame is as smooth as the eye
// sees. Hidden tabs get no animation frames, so they fall back to a timer (and stay current for a reload).
export function scheduleRender(message) {
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
  if (message.error?.code) element.dataset.errorCode = message.error.code;
  else delete element.dataset.errorCode;
  element.setAttribute('aria-busy', String(message.status === 'streaming' || message.status === 'queued'));

  if (message.rendered !== message.content) {
    if (message.role === 'assistant') renderMarkdown(textElement, message.content);
    else textElement.textContent = message.content;
    message.rendered = message.content;
  }

  const note = describeStatus(message);
  noteElement.hidden = !note;
  noteElement.textContent = note;
}

/** The words under a message for its status; empty when there is nothing to say. */
function describeStatus(message) {
  switch (message.status) {
    case 'queued':
      return Number.isInteger(message.queuePosition)
        ? `Queued (position ${message.queuePosition}): waiting for the model…`
        : 'Queued: waiting for the model…';
    case 'failed': {
      if (message.role === 'user') return `Not sent: ${message.error?.message ?? 'the request failed'}`;
      const code = message.error?.code;
      const reason = FAILURES[code] ?? message.error?.message ?? 'the reply could not be completed.';
      return `Failed: ${reason}${code ? ` (${code})` : ''}`;
    }
    case 'cancelled':
      return message.reason === 'abandoned' ? 'Stopped: nobody was watching the reply.' : 'Stopped.';
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

  element.setAttribute('aria-label', role === 'user' ? 'Your message' : 'Assistant reply');
  element.append(author, textElement, noteElement);
  ui.messages.append(element);
  const message = {
    id, role, content: '', status: 'completed', error: null, reason: null, queuePosition: null, live: false,
    element, textElement, noteElement, rendered: null,
  };
  view.messages.set(id, message);
  updateEmptyState();
  return message;
}

/** A message id the page made (`local-N`) for a message the Api has not accepted. */
export const isLocalId = id => id.startsWith('local-');

/** Creates or updates a message; fields not given are left as they are. */
export function upsertMessage({ id, role = 'assistant', ...fields }) {
  const message = view.messages.get(id) ?? createMessage(id, role);
  Object.assign(message, fields);
  scheduleRender(message);
  return message;
}

/** Gives a local message (`local-N`) the id the server gave it, or drops it if that one is already shown. */
export function renameMessage(fromId, toId) {
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

/** Shows the Api's messages in its order; keeps local messages (being sent, or failed to send) at the end. */
export function renderConversation(messages) {
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
    if (isLocalId(id)) ui.messages.append(message.element);
    else {
      message.element.remove();
      view.messages.delete(id);
    }
  }
  updateEmptyState();
}

/** Removes every message from the page. */
export function clearMessages() {
  for (const message of view.messages.values()) message.element.remove();
  view.messages.clear();
  dirty.clear();
  updateEmptyState();
}

function updateEmptyState() {
  ui.emptyState.hidden = view.messages.size > 0;
}
