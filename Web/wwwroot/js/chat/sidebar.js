// The sidebar: the user's conversations, newest first, with the open one marked; on narrow screens a drawer.

import { api } from '../api.js';
import { ui } from './dom.js';
import { setTitle } from './indicators.js';
import { view } from './store.js';

const timeFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

let refreshing = null;
let refreshAgain = false;

/** Reloads the list from the Api; calls while one is running coalesce into one more. */
export function refreshConversations() {
  if (refreshing) {
    refreshAgain = true;
    return refreshing;
  }
  refreshing = (async () => {
    do {
      refreshAgain = false;
      try {
        renderConversationList(await api.listConversations());
      } catch (error) {
        console.warn('aiStreaming: could not load conversations', error);
      }
    } while (refreshAgain);
    refreshing = null;
  })();
  return refreshing;
}

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

/** Marks the open conversation's link (`aria-current="page"`). */
export function markSelected() {
  for (const link of ui.list.querySelectorAll('a[data-conversation-id]')) {
    if (link.dataset.conversationId === view.conversationId) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
}

/** Closes the drawer (narrow screens). */
export function closeSidebar() {
  ui.app.classList.remove('sidebar-open');
  ui.sidebarToggle.setAttribute('aria-expanded', 'false');
}

/** Wires the list and the drawer toggle; `open(id)` opens a conversation the user picked. */
export function initSidebar({ open }) {
  ui.list.addEventListener('click', event => {
    const link = event.target.closest('a[data-conversation-id]');
    if (!link || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    closeSidebar();
    if (link.dataset.conversationId !== view.conversationId) open(link.dataset.conversationId);
  });

  ui.sidebarToggle.addEventListener('click', () => {
    const isOpen = ui.app.classList.toggle('sidebar-open');
    ui.sidebarToggle.setAttribute('aria-expanded', String(isOpen));
  });
}
