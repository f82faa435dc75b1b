// Channel events (docs/protocol.md, "Event") applied to the page: each arrives once, in offset order, from the
// conversation's subscription (conversation.js).

import { upsertMessage, renameMessage, scheduleRender } from './messages.js';
import { announce, setPresence, setStreaming } from './indicators.js';
import { clearResumePoint } from './resume.js';
import { refreshConversations } from './sidebar.js';
import { client, view } from './store.js';

/** Applies one channel event; unknown types are ignored (the protocol may grow). */
export function applyEvent(event) {
  const data = event.data ?? {};
  switch (event.type) {
    case 'message.queued':
      // The reply waits for a model slot; message.started follows, or message.failed (queue_timeout).
      upsertMessage({ id: event.messageId, role: 'assistant', status: 'queued', queuePosition: data.position ?? null, live: false });
      setStreaming(event.messageId);
      announce(Number.isInteger(data.position) ? `Reply queued, position ${data.position}.` : 'Reply queued.');
      break;
    case 'message.started':
      started(event, data);
      break;
    case 'message.resumed':
      // Another Api replica took the reply over: the text so far stays, the deltas that follow continue it.
      setStreaming(event.messageId);
      announce('Reply resumed.');
      break;
    case 'delta': {
      const message = view.messages.get(event.messageId)
        ?? upsertMessage({ id: event.messageId, role: 'assistant', status: 'streaming' });
      message.content += data.text ?? '';
      scheduleRender(message);
      break;
    }
    case 'message.completed':
      finish(event, { status: 'completed' }, 'Reply complete.');
      break;
    case 'message.failed':
      finish(event, { status: 'failed', error: { code: data.code ?? null, message: data.message ?? null } }, 'Reply failed.');
      break;
    case 'message.cancelled':
      finish(event, { status: 'cancelled', reason: data.reason ?? null }, 'Reply stopped.');
      break;
    case 'presence':
    case 'presence.join':
    case 'presence.leave':
      setPresence(data.count);
      refreshPresence(view.channel);
      break;
    default:
      break;
  }
}

function started(event, data) {
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
  upsertMessage({
    id: event.messageId, role: data.role ?? 'assistant', content: '', status: 'streaming', error: null, queuePosition: null, live: true,
  });
  setStreaming(event.messageId);
}

// The final event carries the authoritative text: it replaces whatever the deltas built.
function finish(event, fields, announcement) {
  const message = view.messages.get(event.messageId);
  const text = event.data?.text ?? message?.content ?? '';
  upsertMessage({ id: event.messageId, role: 'assistant', content: text, error: null, queuePosition: null, ...fields, live: false });
  if (view.streamingId === event.messageId) setStreaming(null);
  clearResumePoint(view.channel);
  announce(announcement);
  refreshConversations();
}

/** Asks the hub who watches `channel` and shows it, if that channel is still open. */
export function refreshPresence(channel) {
  if (!client.isConnected) return; // the next subscribed frame asks again
  if (!client.connection) return; // over SSE there is no hub to ask: the channel's presence events bring the count
  client.connection.invoke('GetPresence', channel, view.subscription?.token ?? null)
    .then(presence => {
      if (channel === view.channel) setPresence(presence?.count, presence?.users);
    })
    .catch(error => console.warn('aiStreaming: GetPresence failed', error));
}

