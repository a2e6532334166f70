/**
 * Every WebSocket close code rxwire sends or interprets. The 4xxx codes mirror
 * HTTP statuses so they read at a glance in a network inspector.
 *
 * @example
 * ```ts
 * client.state$.subscribe((s) => {
 *   if (s.lastClose?.code === CloseCode.Unauthorized) showSignIn();
 * });
 * ```
 */
export enum CloseCode {
  /** Normal closure: the peer is done. The client does not reconnect. */
  Normal = 1000,
  /** Going away: server shutdown or page navigation. The client reconnects. */
  GoingAway = 1001,
  /** Abnormal closure: the connection dropped without a close frame (never sent on the wire). */
  Abnormal = 1006,
  /**
   * Policy violation. Fatal for the client. (A disallowed Origin is refused earlier,
   * with HTTP 403 at the upgrade, which a browser reports as 1006.)
   */
  PolicyViolation = 1008,
  /** A frame exceeded the receiver's size limit. Fatal for the client. */
  MessageTooBig = 1009,
  /** Unexpected server error. The client reconnects. */
  InternalError = 1011,
  /** Service restart. The client reconnects. */
  ServiceRestart = 1012,
  /** Try again later. The client reconnects. */
  TryAgainLater = 1013,
  /** The peer broke the protocol (malformed `$hello`, wrong protocol version). Fatal. */
  BadRequest = 4400,
  /** Token missing, invalid or expired. The client retries once with a fresh token, then stops. */
  Unauthorized = 4401,
  /** Authenticated but not allowed. Fatal. */
  Forbidden = 4403,
  /** No `$hello` arrived within the server's `helloTimeout`. The client reconnects. */
  HelloTimeout = 4408,
  /** Another connection took over this session. Fatal. */
  DuplicateSession = 4409,
  /** The peer sent more than its rate limit allows. The client reconnects with backoff. */
  TooManyRequests = 4429,
}

const MAX_REASON_BYTES = 122;

/**
 * Clamps a close reason to at most 122 UTF-8 bytes (the WebSocket limit is 123),
 * cutting at a character boundary, so `close(code, reason)` never throws.
 *
 * @example
 * ```ts
 * socket.close(CloseCode.BadRequest, clampReason(longMessage));
 * ```
 */
export function clampReason(reason: string): string {
  let bytes = 0;
  for (const ch of reason) bytes += utf8Bytes(ch);
  if (bytes <= MAX_REASON_BYTES) return reason;
  let out = '';
  bytes = 0;
  for (const ch of reason) {
    const size = utf8Bytes(ch);
    if (bytes + size > MAX_REASON_BYTES - 3) break;
    out += ch;
    bytes += size;
  }
  return out + '...';
}

/**
 * UTF-8 length of one character (a lone surrogate is sent as U+FFFD: 3 bytes).
 * Counted by hand rather than with TextEncoder, which some test environments
 * (Jest's jsdom) lack, so importing rxwire works there.
 */
function utf8Bytes(ch: string): number {
  const code = ch.codePointAt(0)!;
  return code < 0x80 ? 1 : code < 0x800 ? 2 : code < 0x10000 ? 3 : 4;
}
