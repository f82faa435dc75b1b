// Resume after reload. Per tab (sessionStorage): the position and text of the reply being streamed, so a
// reload renders the text at once and asks the streamer only for what came after it.

import { view } from './store.js';

const resumeKey = channel => `aiStreaming.resume.${channel}`;

/** Saves the streaming reply's text and the subscription's position, when they agree (a live reply). */
export function saveResumePoint() {
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

/** @returns {{ epoch: string, offset: number, messageId: string, text: string } | null} what was saved for `channel` */
export function loadResumePoint(channel) {
  try {
    const saved = JSON.parse(sessionStorage.getItem(resumeKey(channel)) ?? 'null');
    const valid = saved && typeof saved.epoch === 'string' && Number.isInteger(saved.offset)
      && typeof saved.messageId === 'string' && typeof saved.text === 'string';
    return valid ? saved : null;
  } catch {
    return null;
  }
}

/** Forgets what was saved for `channel` (its reply ended). */
export function clearResumePoint(channel) {
  try {
    if (channel) sessionStorage.removeItem(resumeKey(channel));
  } catch {
    // Nothing to clear.
  }
}
