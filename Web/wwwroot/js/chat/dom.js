// The page's elements (Pages/Index.cshtml), looked up once.

const byId = id => document.getElementById(id);

export const ui = {
  app: document.querySelector('.app'),
  sidebarToggle: byId('sidebar-toggle'),
  list: byId('conversation-list'),
  newConversation: byId('new-conversation'),
  connectionState: byId('connection-state'),
  headerConnectionState: byId('header-connection-state'),
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
