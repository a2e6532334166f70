import { CloseCode, type CloseInfo } from '../protocol/index.js';

/**
 * What the client does after a close:
 * - `'reconnect'`: wait with backoff, then try again;
 * - `'reauthenticate'`: try again at once with a fresh token (once; a second 4401 is fatal);
 * - `'stop'`: end quietly in status `'disconnected'`;
 * - `'fatal'`: end in status `'error'`; only `reconnect()` starts again.
 */
export type CloseDecision = 'reconnect' | 'reauthenticate' | 'stop' | 'fatal';

const fatal: ReadonlySet<number> = new Set([
  CloseCode.PolicyViolation,
  CloseCode.MessageTooBig,
  CloseCode.BadRequest,
  CloseCode.Forbidden,
  CloseCode.DuplicateSession,
]);

/**
 * The default close policy. A close by the server with 1000 stops; 4401 retries
 * once at once with a fresh token; 1008, 1009, 4400, 4403 and 4409 are fatal;
 * everything else (1001, 1006, 1011, 1012, 1013, 4408, 4429, network errors)
 * reconnects with backoff. The client's own `disconnect()` never reconnects and
 * does not reach this function.
 *
 * @example
 * ```ts
 * createClient({ shouldReconnect: (close) => close.code === 4000 ? 'fatal' : undefined });
 * ```
 */
export function defaultCloseDecision(close: CloseInfo): CloseDecision {
  if (close.code === CloseCode.Normal) return 'stop';
  if (close.code === CloseCode.Unauthorized) return 'reauthenticate';
  if (fatal.has(close.code)) return 'fatal';
  return 'reconnect';
}
