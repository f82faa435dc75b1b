// Retry timing shared by the hub connection, the channel subscriptions and the Api client.

// The first retry comes at once (spread over 0–250 ms, so the clients of a killed replica do not all arrive in
// the same instant): the balancer hands the new connection to a live replica, and recovery resumes the channel.
const FIRST_RETRY_SPREAD_MS = 250;
const LATER_RETRY_DELAYS_MS = [500, 1000, 2000, 5000];

/**
 * Delay in ms before retry number `attempt` (0-based): 0–250 ms, then 0.5, 1, 2, 5 s and 5 s forever, the
 * later ones with ±20 % jitter.
 * @param {number} attempt
 */
export function retryDelay(attempt) {
  if (attempt <= 0) return Math.round(Math.random() * FIRST_RETRY_SPREAD_MS);
  const base = LATER_RETRY_DELAYS_MS[Math.min(attempt - 1, LATER_RETRY_DELAYS_MS.length - 1)];
  return Math.round(base * (0.8 + Math.random() * 0.4));
}

/** @param {number} ms @returns {Promise<void>} resolves after `ms` */
export const sleep = ms => new Promise(resolve => setTimeout(resolve, ms));
