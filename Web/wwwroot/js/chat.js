// The chat page's composition root: conversations from the Api (api.js), replies streamed from the streamer
// tier (stream/). Protocol: docs/protocol.md. Each concern has one module under chat/:
//   store.js        the open conversation's state and the page's hub connection
//   dom.js          the page's elements
//   messages.js     the message list (markdown rendering, statuses in words)
//   events.js       channel events applied to the page
//   conversation.js open, subscribe, reload after an unrecovered subscription
//   resume.js       resume points for reloads (sessionStorage)
//   indicators.js   live-updates status, composer buttons and errors, title, presence, announcements
//   sidebar.js      the conversation list
//   composer.js     send, stop, new chat

import { initComposer } from './chat/composer.js';
import { conversationIdFromLocation, openConversation } from './chat/conversation.js';
import { ui } from './chat/dom.js';
import { showConnection } from './chat/indicators.js';
import { saveResumePoint } from './chat/resume.js';
import { initSidebar, refreshConversations } from './chat/sidebar.js';
import { client } from './chat/store.js';

initSidebar({ open: id => openConversation(id, { push: true }) });
initComposer();

window.addEventListener('popstate', () => openConversation(conversationIdFromLocation()));

// rAF-throttled saves can lag a frame behind: save once more when the page goes away or out of sight.
window.addEventListener('pagehide', saveResumePoint);
document.addEventListener('visibilitychange', saveResumePoint);

client.onStateChange(state => showConnection(state, client.transport));

client.start();
refreshConversations();
openConversation(ui.app.dataset.conversationId || conversationIdFromLocation());
