import type { IncomingMessage, Server as HttpServer } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import {
  ErrorCode,
  RxwireTypeError,
  type AnyProtocol,
  type ClientType,
  type PayloadOf,
  type Protocol,
  type RequestOf,
  type RequestType,
  type Validator,
} from '../src/protocol/index.js';
import type { Authenticate, JwtOptions } from './auth.js';
import type { Cluster } from './cluster.js';
import { toLogger, type Logger } from './logger.js';

/** ws-level liveness: a ping every `interval`; a peer without a pong `timeout` later is terminated. */
export interface HeartbeatOptions {
  /** Time between pings, in ms. @default 25_000 // 25 seconds */
  interval?: number;
  /** How long to wait for the pong before terminating the socket (close 1006), in ms. @default 10_000 // 10 seconds */
  timeout?: number;
}

/**
 * Per-connection token buckets, refilled over `perMs`: one for text frames
 * (`messages`, over it closes 4429) and one of its own for binary audio
 * frames (`audioFrames`, over it frames are dropped and counted, never closed).
 */
export interface RateLimitOptions {
  /** Text frames allowed per window (and the burst size); more closes the connection with 4429. @default 200 */
  messages?: number;
  /** The window, in ms. @default 1_000 // 1 second */
  perMs?: number;
  /**
   * Binary (audio) frames allowed per window, and the burst size. Audio does
   * not spend `messages` tokens. Frames over this budget are dropped before
   * decoding and counted in `session.audioStats.overLimit` (the streams show
   * them as lost); the connection stays up, because a burst after a network
   * stall is normal for real-time audio. The default fits 16 streams of 20 ms
   * frames (50/s each) with room for bursts.
   * @default 1_000
   */
  audioFrames?: number;
}

/** Payload validators for what clients send, by message or request type. */
export type InboundValidators<P extends Protocol> = {
  [K in ClientType<P>]?: Validator<PayloadOf<P['client'], K>>;
} & {
  [K in RequestType<P>]?: Validator<RequestOf<P, K>>;
};

/** Decides whether a browser Origin may connect. */
export type OriginCheck = (origin: string | undefined, request: IncomingMessage) => boolean;

/**
 * Options of {@link createServer}. Give `server` (share a port with Express) or `port`.
 */
export interface ServerOptions<P extends Protocol = AnyProtocol, U = unknown> {
  /**
   * An http/https server to attach to: rxwire takes the upgrades on `path` and
   * leaves every other request and upgrade alone, so Express (and other
   * WebSocket servers on other paths) share the port. Mutually exclusive with `port`.
   */
  server?: HttpServer | HttpsServer;
  /** Listen on this port with an http server of rxwire's own (0 picks a free port). Mutually exclusive with `server`. */
  port?: number;
  /** Interface to listen on with `port`. @default every interface */
  host?: string;
  /** URL path that accepts WebSocket upgrades (and, with `fallback`, the HTTP transport under `{path}/http`). @default '/ws' */
  path?: string;
  /**
   * Also serve the HTTP fallback transport, for clients whose network blocks
   * WebSocket upgrades (client option `transports: ['websocket', 'http']`):
   * `GET {path}/http` opens a Server-Sent Events stream (server to client) and
   * `POST {path}/http?id=...` carries client frames (docs/PROTOCOL.md section 13).
   * Sessions, auth, `allowedOrigins`, acks, resume and audio work the same;
   * `session.transport` says which one a session uses. rxwire wraps the http
   * server's `request` listeners to answer these two routes and passes every
   * other request on; attach Express (or any request listener) before
   * `createServer` so it is wrapped too.
   * @default false
   */
  fallback?: boolean;
  /**
   * Decides who a connection is, from the token (`$hello.payload.token`, else an
   * `Authorization: Bearer` header on the upgrade) and the upgrade request.
   * Return a user (becomes `session.user`), `null`/`undefined` (close 4401),
   * or `forbidden(reason)` (close 4403); throwing `UnauthorizedError` closes
   * 4401, `ForbiddenError` 4403, anything else 1011. Mutually exclusive with `jwt`.
   * @default everyone is let in, `session.user` is undefined
   */
  authenticate?: Authenticate<U>;
  /**
   * Built-in JWT auth with `jose`: a token that is missing, malformed, badly
   * signed, expired, not yet valid, or has the wrong `iss`/`aud` closes 4401.
   * `session.user` is the token's claims. Mutually exclusive with `authenticate`.
   */
  jwt?: JwtOptions;
  /**
   * Browser Origins allowed to connect: exact origins (`'https://app.example'`)
   * or a function. Others are refused at the upgrade with HTTP 403 (no
   * WebSocket is opened). Requests without an Origin header (non-browser
   * clients) are allowed by a list; a function sees `undefined` and decides.
   * @default every origin
   */
  allowedOrigins?: readonly string[] | OriginCheck;
  /** Largest inbound frame in bytes; a bigger one closes the connection with 1009. @default 1_048_576 // 1 MiB */
  maxPayload?: number;
  /** Deepest JSON nesting accepted in a text frame; deeper gets `$error` RXWIRE_BAD_JSON. @default 64 */
  maxDepth?: number;
  /** ws-level ping/pong; peers that miss a pong are terminated. `false` turns it off. @default { interval: 25_000, timeout: 10_000 } */
  heartbeat?: HeartbeatOptions | false;
  /**
   * Time from the upgrade to a valid `$hello`, in ms; none by then closes 4408.
   * When `$hello` came but `authenticate` has not answered by then, the close is 1013.
   * @default 10_000 // 10 seconds
   */
  helloTimeout?: number;
  /** Per-connection inbound frame rate; over it closes 4429. `false` turns it off. @default { messages: 200, perMs: 1_000 } */
  rateLimit?: RateLimitOptions | false;
  /**
   * Runtime validators (Standard Schema or a function) for client messages and
   * request payloads, by type. A payload that fails gets `$error`
   * RXWIRE_INVALID_PAYLOAD and never reaches a subscriber or handler.
   */
  validate?: InboundValidators<P>;
  /**
   * Reject plain messages of types the server does not know with `$error`
   * RXWIRE_UNKNOWN_TYPE: `true` knows the types in `validate`, an array lists
   * them. Requests are always checked against `handle()` (RXWIRE_NO_HANDLER).
   * @default false // every type is delivered
   */
  strictTypes?: boolean | readonly string[];
  /**
   * Most audio streams (distinct stream ids) one session may send. A frame
   * that would open one more gets `$error` RXWIRE_BAD_BINARY_FRAME and is
   * dropped; it bounds the per-session state a client can make the server keep.
   * @default 16
   */
  maxAudioStreams?: number;
  /** How long `close()` waits for clients to answer the 1001 close before terminating them, in ms. @default 5_000 // 5 seconds */
  shutdownTimeout?: number;
  /**
   * How long a session whose connection dropped is kept for the client to
   * resume, in ms. While it waits, `send` buffers, request handlers keep
   * running, and nothing completes; a resuming client gets what it missed, in
   * order, once. After it, the session ends (`closed$` has `expired: true`).
   * `0` ends sessions as soon as their connection drops.
   * @default 120_000 // 2 minutes
   */
  recoveryWindow?: number;
  /**
   * Bound on what one session keeps for resending: sent messages the client
   * has not acknowledged (all of them while it is away). Over it, `send`
   * throws `QueueFullError` (RXWIRE_QUEUE_FULL) and a request stream ends
   * with `$error` RXWIRE_QUEUE_FULL: nothing is dropped silently.
   * @default { messages: 10_000, bytes: 16_777_216 } // 16 MiB
   */
  maxUnacked?: { messages?: number; bytes?: number };
  /**
   * Who may resume a session: a resuming connection must authenticate as the
   * same user, compared by this key. Return `undefined` to compare users by
   * their JSON.
   * @default (user) => user.sub ?? user.id // the JWT subject, or an `id` field
   */
  userKey?: (user: U) => string | undefined;
  /** Where the server reports what happens; levels left out are dropped. @default silent */
  logger?: Partial<Logger>;
  /**
   * Run this server as one node of a cluster: `redisCluster({ url, secret })`
   * (or `memoryCluster()` in tests) from `rxwire/cluster`. Sessions then move
   * between nodes with nothing lost or repeated, `broadcast` and `sendTo`
   * reach every node, `presence` is cluster-wide, and `drain()` hands every
   * session to the other nodes. Without it the server is a cluster of one.
   * @default none // a single node
   */
  cluster?: Cluster;
}

/** The options the connection core runs on, with every default applied. */
export interface ResolvedOptions {
  path: string;
  fallback: boolean;
  maxPayload: number;
  maxDepth: number;
  heartbeat: { interval: number; timeout: number } | null;
  helloTimeout: number;
  rateLimit: { messages: number; perMs: number; audioFrames: number } | null;
  maxAudioStreams: number;
  validators: ReadonlyMap<string, Validator>;
  knownTypes: ReadonlySet<string> | null;
  shutdownTimeout: number;
  recoveryWindow: number;
  maxUnacked: { messages: number; bytes: number };
  userKey: (user: unknown) => string;
  allowedOrigins: OriginCheck | null;
  logger: Logger;
  cluster: Cluster | null;
}

/** Applies every default once and fails fast, naming the option, on invalid values. */
export function resolveOptions(options: ServerOptions<Protocol, unknown>): ResolvedOptions {
  const path = options.path ?? '/ws';
  if (!path.startsWith('/')) fail(`\`path\` must start with '/' (got '${path}')`);
  const heartbeat =
    options.heartbeat === false
      ? null
      : {
          interval: positive('heartbeat.interval', options.heartbeat?.interval ?? 25_000),
          timeout: positive('heartbeat.timeout', options.heartbeat?.timeout ?? 10_000),
        };
  const rateLimit =
    options.rateLimit === false
      ? null
      : {
          messages: positive('rateLimit.messages', options.rateLimit?.messages ?? 200),
          perMs: positive('rateLimit.perMs', options.rateLimit?.perMs ?? 1_000),
          audioFrames: positive('rateLimit.audioFrames', options.rateLimit?.audioFrames ?? 1_000),
        };
  const validators = new Map<string, Validator>();
  for (const [type, validator] of Object.entries(options.validate ?? {})) {
    if (validator === undefined) continue;
    const schema = validator as { '~standard'?: { validate?: unknown } } | null;
    if (typeof validator !== 'function' && typeof schema?.['~standard']?.validate !== 'function') {
      fail(`\`validate.${type}\` must be a Standard Schema or a function`);
    }
    validators.set(type, validator as Validator);
  }
  const strict = options.strictTypes ?? false;
  const knownTypes =
    strict === false ? null : new Set(strict === true ? validators.keys() : strict);
  if (options.fallback !== undefined && typeof options.fallback !== 'boolean') {
    fail('`fallback` must be a boolean');
  }
  return {
    path,
    fallback: options.fallback ?? false,
    maxPayload: positive('maxPayload', options.maxPayload ?? 1_048_576),
    maxDepth: positive('maxDepth', options.maxDepth ?? 64),
    heartbeat,
    helloTimeout: positive('helloTimeout', options.helloTimeout ?? 10_000),
    rateLimit,
    maxAudioStreams: positiveInteger('maxAudioStreams', options.maxAudioStreams ?? 16),
    validators,
    knownTypes,
    shutdownTimeout: nonNegative('shutdownTimeout', options.shutdownTimeout ?? 5_000),
    recoveryWindow: nonNegative('recoveryWindow', options.recoveryWindow ?? 120_000),
    maxUnacked: {
      messages: positiveInteger('maxUnacked.messages', options.maxUnacked?.messages ?? 10_000),
      bytes: positive('maxUnacked.bytes', options.maxUnacked?.bytes ?? 16_777_216),
    },
    userKey: userKeyOf(options.userKey),
    allowedOrigins: originCheck(options.allowedOrigins),
    logger: toLogger(options.logger),
    cluster: clusterOf(options.cluster),
  };
}

function clusterOf(cluster: ServerOptions['cluster']): Cluster | null {
  if (cluster === undefined) return null;
  if (typeof cluster !== 'object' || cluster === null || typeof cluster.bind !== 'function') {
    fail('`cluster` must be made by redisCluster() or memoryCluster() from rxwire/cluster');
  }
  return cluster;
}

function userKeyOf(custom: ServerOptions['userKey']): (user: unknown) => string {
  if (custom !== undefined && typeof custom !== 'function') fail('`userKey` must be a function');
  return (user) => {
    const key = custom ? custom(user) : defaultUserKey(user);
    return key !== undefined ? `k:${key}` : `j:${JSON.stringify(user) ?? ''}`;
  };
}

function defaultUserKey(user: unknown): string | undefined {
  if (typeof user !== 'object' || user === null) return undefined;
  const { sub, id } = user as { sub?: unknown; id?: unknown };
  if (typeof sub === 'string' || typeof sub === 'number') return String(sub);
  if (typeof id === 'string' || typeof id === 'number') return String(id);
  return undefined;
}

function originCheck(allowed: ServerOptions['allowedOrigins']): OriginCheck | null {
  if (allowed === undefined) return null;
  if (typeof allowed === 'function') return allowed;
  if (!Array.isArray(allowed)) fail('`allowedOrigins` must be an array of origins or a function');
  const set = new Set(allowed.map((o) => o.toLowerCase()));
  return (origin) => origin === undefined || set.has(origin.toLowerCase());
}

function positive(name: string, value: number): number {
  if (typeof value !== 'number' || !(value > 0) || !Number.isFinite(value)) {
    fail(`\`${name}\` must be a positive number (got ${String(value)})`);
  }
  return value;
}

function positiveInteger(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) {
    fail(`\`${name}\` must be a positive integer (got ${String(value)})`);
  }
  return value;
}

function nonNegative(name: string, value: number): number {
  if (typeof value !== 'number' || !(value >= 0) || !Number.isFinite(value)) {
    fail(`\`${name}\` must be a non-negative number (got ${String(value)})`);
  }
  return value;
}

function fail(message: string): never {
  throw new RxwireTypeError(ErrorCode.InvalidOption, message);
}
