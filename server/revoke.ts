// Revocation: `server.disconnectUser(userKey)` ends every session of a user
// on this server, connected or waiting for a resume, so that none of them can
// be resumed.
import { CloseCode, ErrorCode, RxwireTypeError, clampReason } from '../src/protocol/index.js';
import { keyed, type ResolvedOptions } from './options.js';
import { isValidCloseCode, type ServerSession } from './session.js';

/** What revocation needs of the server. */
export interface RevocationHost {
  readonly options: ResolvedOptions;
  /** The live sessions (connected, or waiting for a resume), by id. */
  readonly sessions: ReadonlyMap<string, unknown>;
  /** A live session by id. */
  session(id: string): ServerSession<never, unknown> | undefined;
}

/** The close `disconnectUser` sends when not told otherwise. */
export const REVOKED = { code: CloseCode.Forbidden, reason: 'session revoked' } as const;

/**
 * Ends, at once, every open session whose user has `userKey` (by the
 * `userKey` option): its connection, if any, is closed with `code`, and the
 * session ends now rather than when the socket is gone, so a resume in the
 * meantime finds nothing to resume. Resolves with how many ended.
 */
export function disconnectUser(
  host: RevocationHost,
  userKey: unknown,
  code: unknown = REVOKED.code,
  reason: unknown = REVOKED.reason,
): Promise<number> {
  if (typeof userKey !== 'string') {
    return invalid(`disconnectUser needs a user key (a string, got ${typeof userKey})`);
  }
  if (typeof code !== 'number' || !isValidCloseCode(code)) {
    return invalid(
      `disconnectUser: close code ${String(code)} is not valid (use 1000, 1001, 1008, 1011-1013 or 3000-4999)`,
    );
  }
  if (typeof reason !== 'string') {
    return invalid(`disconnectUser: the reason must be a string (got ${typeof reason})`);
  }
  const { logger, userKey: keyOf } = host.options;
  const wanted = keyed(userKey);
  const close = { code, reason: clampReason(reason) };
  const revoked: Array<ServerSession<never, unknown>> = [];
  for (const id of host.sessions.keys()) {
    const session = host.session(id);
    if (session === undefined || session.state !== 'open') continue;
    let key: string;
    try {
      key = keyOf(session.user);
    } catch (error) {
      logger.error('userKey threw; the session is left alone', {
        session: session.id,
        error: String(error),
      });
      continue;
    }
    if (key === wanted) revoked.push(session);
  }
  // Collected first: ending a session takes it out of `sessions`.
  for (const session of revoked) {
    session.close(close.code, close.reason);
    session.end(close);
  }
  if (revoked.length > 0) {
    logger.info('disconnected a user', { userKey, sessions: revoked.length, code });
  }
  return Promise.resolve(revoked.length);
}

function invalid(message: string): Promise<never> {
  return Promise.reject(new RxwireTypeError(ErrorCode.InvalidOption, message));
}
