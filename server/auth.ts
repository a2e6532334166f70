import { createPublicKey } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import {
  jwtVerify,
  type JWTPayload,
  type JWTVerifyGetKey,
  type JWTVerifyOptions,
  type KeyLike,
} from 'jose';
import { CloseCode, ErrorCode, RxwireError, RxwireTypeError } from '../src/protocol/index.js';
import type { Logger } from './logger.js';

const FORBIDDEN = Symbol.for('rxwire.forbidden');

/** What {@link forbidden} returns: an `authenticate` hook's "known, but not allowed" answer (close 4403). */
export interface Forbidden {
  readonly [FORBIDDEN]: true;
  readonly reason: string;
}

/**
 * Marks an authenticated-but-not-allowed connection: return it from
 * `authenticate` and the server closes with 4403 (Forbidden) and `reason`.
 *
 * @example
 * ```ts
 * createServer({
 *   server,
 *   authenticate: async (token) => {
 *     const user = await users.byToken(token);
 *     if (!user) return null;                     // 4401
 *     return user.banned ? forbidden('banned') : user; // 4403 or a session
 *   },
 * });
 * ```
 */
export function forbidden(reason = 'forbidden'): Forbidden {
  return { [FORBIDDEN]: true, reason };
}

/** Thrown from `authenticate`: close 4403 with this message as the reason. Code `RXWIRE_FORBIDDEN`. */
export class ForbiddenError extends RxwireError {
  override name = 'ForbiddenError';
  readonly [FORBIDDEN] = true;
  /** The close reason (the message). */
  readonly reason: string;
  constructor(message = 'forbidden') {
    super(ErrorCode.Forbidden, message);
    this.reason = message;
  }
}

/**
 * Thrown from `authenticate` (or by {@link verifyJwt}): close 4401 with this
 * message as the reason. Code `RXWIRE_UNAUTHORIZED`.
 */
export class UnauthorizedError extends RxwireError {
  override name = 'UnauthorizedError';
  constructor(message = 'unauthorized', options?: { cause?: unknown }) {
    super(ErrorCode.Unauthorized, message, options);
  }
}

/** Built-in JWT verification (with `jose`). Give exactly one of `secret` and `publicKey`. */
export interface JwtOptions {
  /**
   * Shared secret for HMAC tokens (HS256 unless `algorithms` says otherwise):
   * at least 32 bytes (48 for HS384, 64 for HS512), else `createServer` throws
   * an `RxwireTypeError` naming `jwt.secret`. A string is used as UTF-8 bytes.
   */
  secret?: string | Uint8Array;
  /**
   * Public key for asymmetric tokens (RS*, PS*, ES*, EdDSA): a PEM string, a
   * `KeyObject`, a `CryptoKey`, or a key resolver such as jose's `createRemoteJWKSet(url)`.
   */
  publicKey?: string | KeyLike | JWTVerifyGetKey;
  /** Required `iss` claim (one of them). */
  issuer?: string | string[];
  /** Required `aud` claim (one of them). */
  audience?: string | string[];
  /**
   * Accepted `alg` header values.
   * @default ['HS256'] with `secret`; with `publicKey`, whatever the key type allows
   */
  algorithms?: string[];
  /** Leeway for `exp` and `nbf`, in seconds or a span like `'30s'`. @default 0 */
  clockTolerance?: number | string;
}

/** A `jwtVerify` prepared once from {@link JwtOptions}. */
type PreparedVerify = (token: string) => Promise<JWTPayload>;

function prepareJwt(options: JwtOptions): PreparedVerify {
  const { secret, publicKey } = options;
  if ((secret === undefined) === (publicKey === undefined)) {
    throw new RxwireTypeError(
      ErrorCode.InvalidOption,
      'jwt needs exactly one of `jwt.secret` and `jwt.publicKey`',
    );
  }
  if (secret !== undefined) checkSecretLength(secret, options.algorithms);
  const verifyOptions: JWTVerifyOptions = {};
  if (options.issuer !== undefined) verifyOptions.issuer = options.issuer;
  if (options.audience !== undefined) verifyOptions.audience = options.audience;
  if (options.clockTolerance !== undefined) verifyOptions.clockTolerance = options.clockTolerance;
  if (options.algorithms !== undefined) verifyOptions.algorithms = options.algorithms;
  else if (secret !== undefined) verifyOptions.algorithms = ['HS256'];

  if (typeof publicKey === 'function') {
    return async (token) => (await jwtVerify(token, publicKey, verifyOptions)).payload;
  }
  const key =
    secret !== undefined
      ? typeof secret === 'string'
        ? new TextEncoder().encode(secret)
        : secret
      : typeof publicKey === 'string'
        ? createPublicKey(publicKey)
        : (publicKey as KeyLike);
  return async (token) => (await jwtVerify(token, key, verifyOptions)).payload;
}

/**
 * HMAC keys shorter than the hash are refused (RFC 7518 §3.2): 32 bytes for
 * HS256, 48 for HS384, 64 for HS512. An empty key is almost always an unset
 * environment variable, and a token signed with `""` would be accepted.
 */
function checkSecretLength(secret: string | Uint8Array, algorithms: string[] | undefined): void {
  const length =
    typeof secret === 'string' ? new TextEncoder().encode(secret).length : secret.length;
  const needed = Math.max(
    32,
    ...(algorithms ?? []).map((alg) => (alg === 'HS512' ? 64 : alg === 'HS384' ? 48 : 32)),
  );
  if (length >= needed) return;
  throw new RxwireTypeError(
    ErrorCode.InvalidOption,
    `'jwt.secret' must be at least ${needed} bytes (got ${length})` +
      (length === 0 ? ': is the environment variable that holds it unset?' : '') +
      '; make one with `openssl rand -base64 48`',
  );
}

/**
 * Verifies a JWT with the same rules as the built-in `jwt` option and returns
 * its claims; throws {@link UnauthorizedError} (close 4401 when thrown from
 * `authenticate`) when the token is missing, malformed, badly signed, expired,
 * not yet valid, or has the wrong issuer or audience. Use it inside your own
 * `authenticate` to add checks on the claims.
 *
 * @example
 * ```ts
 * const jwt = { secret: process.env.JWT_SECRET!, audience: 'chat' };
 * createServer({
 *   server,
 *   authenticate: async (token) => {
 *     const claims = await verifyJwt(token, jwt);
 *     return claims.role === 'guest' ? forbidden('guests cannot chat') : claims;
 *   },
 * });
 * ```
 */
export function verifyJwt(token: string | undefined, options: JwtOptions): Promise<JWTPayload> {
  return createJwtVerifier(options)(token);
}

/** Prepares the key once and returns a verifier with {@link verifyJwt}'s behaviour. */
export function createJwtVerifier(
  options: JwtOptions,
): (token: string | undefined) => Promise<JWTPayload> {
  const verify = prepareJwt(options);
  return async (token) => {
    if (!token) throw new UnauthorizedError('token missing');
    try {
      return await verify(token);
    } catch (cause) {
      throw new UnauthorizedError(describeJoseError(cause), { cause });
    }
  };
}

function describeJoseError(error: unknown): string {
  const e = error as { code?: unknown; claim?: unknown };
  switch (e?.code) {
    case 'ERR_JWT_EXPIRED':
      return 'token expired';
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED':
      return typeof e.claim === 'string'
        ? `token '${e.claim}' claim rejected`
        : 'token claims rejected';
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return 'token signature invalid';
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
      return 'token algorithm not allowed';
    default:
      return 'token invalid';
  }
}

/**
 * What an `authenticate` hook may answer: a user, a user whose session ends
 * with its token ({@link withExpiry}), `null`/`undefined` (4401), or
 * {@link forbidden} (4403).
 */
export type AuthAnswer<U> = U | Expiring<U> | Forbidden | null | undefined;

/** Decides who a connection belongs to, from its token and upgrade request. */
export type Authenticate<U> = (
  token: string | undefined,
  request: IncomingMessage,
) => AuthAnswer<U> | Promise<AuthAnswer<U>>;

const EXPIRING = Symbol.for('rxwire.expiring');

/** What {@link withExpiry} returns: a user whose session ends with its token. */
export interface Expiring<U> {
  readonly [EXPIRING]: true;
  readonly user: U;
  /** When the token expires, in ms since the epoch. */
  readonly expiresAt: number;
}

/**
 * Returned from `authenticate`: the session belongs to `user` and ends with
 * the token at `expiresAt` (a `Date` or ms since the epoch), unless the client
 * refreshes it in band first (the server sends `$refresh` before the expiry,
 * the client answers with a fresh token from its `token` function). The JWT
 * mode does this by itself from the token's `exp` claim.
 *
 * @example
 * ```ts
 * createServer({
 *   server,
 *   authenticate: async (token) => {
 *     const grant = await sessions.lookup(token); // { user, expires: Date } or null
 *     return grant && withExpiry(grant.user, grant.expires);
 *   },
 * });
 * ```
 */
export function withExpiry<U>(user: U, expiresAt: Date | number): Expiring<U> {
  const at = expiresAt instanceof Date ? expiresAt.getTime() : expiresAt;
  if (typeof at !== 'number' || !Number.isFinite(at)) {
    throw new RxwireTypeError(
      ErrorCode.InvalidOption,
      'withExpiry: expiresAt must be a Date or a number of ms since the epoch',
    );
  }
  return { [EXPIRING]: true, user, expiresAt: at };
}

/** The verdict on one connection: a user (and when its token expires), or a close. */
export type AuthOutcome<U> =
  | { ok: true; user: U; expiresAt?: number | undefined }
  | { ok: false; code: CloseCode; reason: string };

/**
 * Builds the server's authenticator from its options: the hook, the JWT mode,
 * or (neither) everyone is let in with `user` undefined.
 */
export function createAuthenticator<U>(
  options: { authenticate?: Authenticate<U>; jwt?: JwtOptions },
  logger: Logger,
): (token: string | undefined, request: IncomingMessage) => Promise<AuthOutcome<U>> {
  if (options.authenticate && options.jwt) {
    throw new RxwireTypeError(
      ErrorCode.InvalidOption,
      'give `authenticate` or `jwt`, not both (call verifyJwt() inside authenticate to combine them)',
    );
  }
  const hook: Authenticate<U> | undefined = options.jwt
    ? (createJwtVerifier(options.jwt) as unknown as Authenticate<U>)
    : options.authenticate;
  if (!hook) return () => Promise.resolve({ ok: true, user: undefined as U });
  const jwt = options.jwt !== undefined;

  return async (token, request) => {
    let answer: AuthAnswer<U>;
    try {
      answer = await hook(token, request);
    } catch (error) {
      if (isForbidden(error)) return deny(CloseCode.Forbidden, error.reason);
      if (error instanceof RxwireError && error.code === ErrorCode.Unauthorized) {
        return deny(CloseCode.Unauthorized, error.message);
      }
      logger.error('authenticate failed', { error: errorText(error) });
      return deny(CloseCode.InternalError, 'authentication failed');
    }
    if (answer === null || answer === undefined)
      return deny(CloseCode.Unauthorized, 'unauthorized');
    if (isForbidden(answer)) return deny(CloseCode.Forbidden, answer.reason);
    if (isExpiring<U>(answer)) return { ok: true, user: answer.user, expiresAt: answer.expiresAt };
    // JWT claims: the session ends with the token's `exp`.
    const exp = jwt ? (answer as { exp?: unknown }).exp : undefined;
    return typeof exp === 'number'
      ? { ok: true, user: answer as U, expiresAt: exp * 1000 }
      : { ok: true, user: answer as U };
  };
}

function deny(code: CloseCode, reason: string): { ok: false; code: CloseCode; reason: string } {
  return { ok: false, code, reason };
}

function isExpiring<U>(value: unknown): value is Expiring<U> {
  return typeof value === 'object' && value !== null && EXPIRING in value;
}

function isForbidden(value: unknown): value is Forbidden {
  return typeof value === 'object' && value !== null && FORBIDDEN in value;
}

function errorText(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/** The token of an `Authorization: Bearer <token>` header, for non-browser clients. */
export function bearerToken(request: IncomingMessage): string | undefined {
  const header = request.headers.authorization;
  if (typeof header !== 'string') return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1];
}
