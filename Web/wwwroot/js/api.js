// Client of the Api behind Web's proxy (docs/protocol.md, "Api"). Same origin: no CORS, the sign-in cookie flows.
// Every call carries X-Requested-With: Web refuses state-changing /api calls without it (CSRF, docs/security.md).

import { retryDelay, sleep } from './retry.js';

/**
 * An Api answer other than 2xx; `problem` is the ProblemDetails / ValidationProblem body when there is one,
 * `retryAfterSeconds` the `Retry-After` header of a 429 or 503 (null when absent).
 */
export class ApiError extends Error {
  constructor(status, problem, retryAfterSeconds = null) {
    super(describe(status, problem));
    this.name = 'ApiError';
    this.status = status;
    this.problem = problem;
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

function describe(status, problem) {
  const validation = problem?.errors ? Object.values(problem.errors).flat().join(' ') : '';
  return validation || problem?.detail || problem?.title || `The server answered ${status}.`;
}

function retryAfter(response) {
  const seconds = Number.parseInt(response.headers.get('Retry-After') ?? '', 10);
  return Number.isFinite(seconds) && seconds >= 0 ? seconds : null;
}

async function request(method, url, body, headers = {}) {
  const response = await fetch(url, {
    method,
    credentials: 'same-origin',
    headers: {
      Accept: 'application/json',
      'X-Requested-With': 'fetch',
      ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
      ...headers,
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (response.status === 401) {
    // The sign-in expired: go to the sign-in page and come back here.
    location.assign(`/account/signin?ReturnUrl=${encodeURIComponent(location.pathname)}`);
  }
  if (!response.ok) {
    let problem = null;
    try { problem = await response.json(); } catch { /* not JSON: the status says enough */ }
    throw new ApiError(response.status, problem, retryAfter(response));
  }
  const type = response.headers.get('Content-Type') ?? '';
  return type.includes('json') ? response.json() : null;
}

// A post whose answer was lost (network error) or that reached no working Api (502–504) may be sent again:
// with the same Idempotency-Key it can never start a second reply.
const POST_ATTEMPTS = 3;
const isRetryable = error => !(error instanceof ApiError) || [502, 503, 504].includes(error.status);

const conversation = id => `/api/conversations/${encodeURIComponent(id)}`;

export const api = {
  /** @returns {Promise<Array<{id, title, createdAt, updatedAt}>>} newest first */
  listConversations: () => request('GET', '/api/conversations'),

  /** @returns {Promise<{id, title, channel, messages}>} */
  createConversation: title => request('POST', '/api/conversations', title ? { title } : {}),

  /**
   * A subscription token for the conversation's channel (owner only; 404 otherwise).
   * @returns {Promise<{channel, token, expiresAt}>}
   */
  subscriptionToken: id => request('GET', `${conversation(id)}/token`),

  /** @returns {Promise<{id, title, channel, messages}>} rejects with ApiError 404 when unknown */
  getConversation: id => request('GET', conversation(id)),

  /**
   * Posts a user message; the reply streams on the conversation's channel.
   * The Api remembers `idempotencyKey` for a while (docs/protocol.md): a retry with the same key in that window
   * gets the first answer (the same message ids and channel) and starts no second reply; the same key with a
   * different body is a 422 problem. So the caller makes one key per message, and this function sends it again,
   * with the same key, when a post fails on the way (network error, 502, 503, 504), up to 3 attempts in all.
   * @returns {Promise<{conversationId, userMessageId, messageId, channel, epoch, startOffset}>}
   *   rejects with ApiError (409 a reply is still streaming, 429 rate limited, …)
   */
  async postMessage(id, content, idempotencyKey) {
    for (let attempt = 1; ; attempt++) {
      try {
        return await request('POST', `${conversation(id)}/messages`, { content }, { 'Idempotency-Key': idempotencyKey });
      } catch (error) {
        if (attempt >= POST_ATTEMPTS || !isRetryable(error)) throw error;
        await sleep(retryDelay(attempt));
      }
    }
  },

  /** Asks the Api to stop a streaming or queued reply; the channel then carries `message.cancelled`. */
  cancel: (id, messageId) => request('POST', `${conversation(id)}/messages/${encodeURIComponent(messageId)}/cancel`),
};
