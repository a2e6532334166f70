// Revocation: `server.disconnectUser(userKey)` ends every session of a user,
// connected or waiting for a resume, so that none of them can be resumed: on
// this server at once, and on a cluster on every node (the cluster passes the
// revocation on). Every node also remembers it for the recovery window, so a
// session that was between nodes at that moment (parked by a drain) is not
// resumed either: a session started before the revocation is refused.
import { CloseCode, ErrorCode, RxwireTypeError, clampReason } from '../src/protocol/index.js';
import { keyed, type ResolvedOptions } from './resolve-options.js';
import { isValidCloseCode, type ServerSession } from './session.js';

/** What revocation needs of the server. */
export interface RevocationHost {
  readonly options: ResolvedOptions;
  /** The live sessions (connected, or waiting for a resume), by id. */
  readonly sessions: ReadonlyMap<string, unknown>;
  /** A live session by id. */
  session(id: string): ServerSession<never, unknown> | undefined;
  /** The revocations this node knows of. */
  readonly revocations: Revocations;
  /** The cluster, which passes a revocation on to every node; null for a single node. */
  readonly cluster: { revoke(userKey: string, at: number, close: RevokeClose): void } | null;
}

/** The close a revocation sends. */
export interface RevokeClose {
  code: number;
  reason: string;
}

/**
 * When each user (by internal `userKey`) was last revoked, kept for the
 * recovery window plus a margin: a session of that user started before then
 * must not be resumed anywhere.
 */
export class Revocations {
  private readonly at = new Map<string, number>();

  constructor(private readonly keepMs: number) {}

  /** Remembers that `userKey`'s sessions started up to `at` are revoked. */
  record(userKey: string, at: number): void {
    const now = Date.now();
    for (const [key, when] of this.at) if (when + this.keepMs < now) this.at.delete(key);
    this.at.set(userKey, Math.max(at, this.at.get(userKey) ?? 0));
  }

  /** True when a session of `userKey` started at `createdAt` has been revoked since. */
  revoked(userKey: string, createdAt: number | undefined): boolean {
    const at = this.at.get(userKey);
    return at !== undefined && (createdAt ?? 0) <= at;
  }
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
  const wanted = keyed(userKey);
  const close = { code, reason: clampReason(reason) };
  const at = Date.now();
  host.revocations.record(wanted, at);
  host.cluster?.revoke(wanted, at, close);
  return Promise.resolve(endSessionsOf(host, wanted, close));
}

/**
 * Ends this node's open sessions of `userKey` (internal form) with `close`:
 * the connection, if any, is closed, and the session ends now rather than when
 * the socket is gone, so a resume in the meantime finds nothing to resume.
 * Returns how many ended.
 */
export function endSessionsOf(host: RevocationHost, userKey: string, close: RevokeClose): number {
  const { logger, userKey: keyOf } = host.options;
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
    if (key === userKey) revoked.push(session);
  }
  // Collected first: ending a session takes it out of `sessions`.
  for (const session of revoked) {
    session.close(close.code, close.reason);
    session.end(close);
  }
  if (revoked.length > 0) {
    logger.info('disconnected a user', { userKey, sessions: revoked.length, code: close.code });
  }
  return revoked.length;
}

function invalid(message: string): Promise<never> {
  return Promise.reject(new RxwireTypeError(ErrorCode.InvalidOption, message));
}
