// Client of the Api behind Web's proxy (docs/protocol.md, "Api"). Same origin: no CORS, the sign-in cookie flows.
// Every call carries X-Requested-With: Web refuses state-changing /api calls without it (CSRF, docs/security.md).

/** An Api answer other than 2xx; `problem` is the ProblemDetails / ValidationProblem body when there is one. */
export class ApiError extends Error {
  constructor(status, problem) {
    super(describe(status, problem));
    this.name = 'ApiError';
    this.status = status;
    this.problem = problem;
  }
}

function describe(status, problem) {
  const validation = problem?.errors ? Object.values(problem.errors).flat().join(' ') : '';
  return validation || problem?.detail || problem?.title || `The server answered ${status}.`;
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
    throw new ApiError(response.status, problem);
  }
  const type = response.headers.get('Content-Type') ?? '';
  return type.includes('json') ? response.json() : null;
}

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
   * `idempotencyKey` makes a retried post return the first answer instead of starting a second reply.
   * @returns {Promise<{conversationId, userMessageId, messageId, channel, epoch, startOffset}>}
   */
  postMessage: (id, content, idempotencyKey) =>
    request('POST', `${conversation(id)}/messages`, { content }, { 'Idempotency-Key': idempotencyKey }),

  /** Asks the Api to stop a streaming reply; the channel then carries `message.cancelled`. */
  cancel: (id, messageId) => request('POST', `${conversation(id)}/messages/${encodeURIComponent(messageId)}/cancel`),
};
