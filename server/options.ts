// The server's options as users write them, each with its TSDoc and
// `@default`. resolve-options.ts checks them and applies the defaults.
import type { IncomingMessage, Server as HttpServer } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type {
  AnyProtocol,
  ClientType,
  PayloadOf,
  Protocol,
  RequestOf,
  RequestType,
  Validator,
} from '../src/protocol/index.js';
import type { Authenticate, JwtOptions } from './auth.js';
import type { TrustProxy } from './client-address.js';
import type { Cluster } from './cluster.js';
import type { Logger } from './logger.js';

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
  /**
   * Most connections this server holds at once: WebSocket connections and
   * HTTP fallback streams, handshakes included (sessions waiting for a resume
   * hold no connection and do not count). One more is refused before the
   * WebSocket opens, with HTTP 503 and `Retry-After`; rxwire clients retry it
   * with backoff. Counted in `server.limits.refused.maxConnections` and
   * logged at most once per 10 s.
   *
   * Size it from what a connection costs: about 6 KB of memory for an idle
   * rxwire connection (bench/README.md, idle-memory) plus what your app keeps
   * per session, and one file descriptor each (`ulimit -n`; leave room for
   * the rest of the process). The default leaves it to those limits.
   * @default Infinity // no limit
   */
  maxConnections?: number;
  /**
   * Most connections from one client address (see `trustProxy` for which
   * address that is), handshakes included. Over it: HTTP 503 with
   * `Retry-After`, counted in `server.limits.refused.maxConnectionsPerIp`.
   * Off by default: behind a proxy without `trustProxy` every client has the
   * proxy's address, and many users can share one address anyway (offices,
   * carrier-grade NAT), so a low default would lock out real users. Set it
   * to what one address may really need (a few tabs per user, times the users
   * behind one NAT), e.g. 50–200. An IPv6 client may hold many addresses (a
   * whole /64): this limit slows a flood from one host, it does not stop a
   * distributed one.
   * @default Infinity // no limit
   */
  maxConnectionsPerIp?: number;
  /**
   * Most connections in the handshake at once: upgraded (or HTTP fallback
   * streams opened) but not yet through `$hello` and `authenticate`. Each
   * can take up to `helloTimeout`, so without a bound slow or silent peers
   * could hold any number of sockets. Over it new connections get HTTP 503
   * with `Retry-After` (counted in `server.limits.refused.maxHandshakes`)
   * until handshakes finish. It caps what peers that have proved nothing can
   * hold, and how many `authenticate` calls run at once. In a reconnect
   * storm it sheds load: refused clients come back on their next backoff
   * step (README, Security: 2,000 clients at once reach it on a 2-core
   * machine; none gave up). Raise it for a slow `authenticate` or many
   * thousands of clients per process. `Infinity` turns it off.
   * @default 1_000
   */
  maxHandshakes?: number;
  /**
   * Which address is the client's, for `maxConnectionsPerIp` and
   * `session.request.ip`. `false`: the socket's remote address. A number
   * `n`: there are `n` proxies in front of this server, and the client is
   * the `n`-th entry of `X-Forwarded-For` from the right (the address the
   * outermost of your proxies saw; entries further left were written by the
   * client and may be forged). `true`: the left-most entry, which any client
   * can forge, so only for a proxy that overwrites the header. Without the
   * header the socket address is used. This is Express's `trust proxy`
   * setting with a number or a boolean.
   *
   * The default is the socket address because `X-Forwarded-For` is just a
   * request header: trusted without a proxy that sets it, any client can
   * claim any address and spread itself over as many per-address slots as it
   * likes.
   * @default false
   */
  trustProxy?: TrustProxy;
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
  /**
   * Sessions end with their token. When authentication says when the token
   * expires (the JWT `exp` claim, or `authenticate` returning
   * `withExpiry(user, expiresAt)`), the server sends the client `$refresh`
   * `refreshBefore` ms before the expiry (at most halfway through the token's
   * life); the client answers in band with a fresh token from its `token`
   * function, without reconnecting. A valid one (same user by `userKey`)
   * extends the session; an invalid one closes it with 4401 at once (4403
   * for another user); no answer by the expiry plus `leeway` closes it with
   * 4401. After a 4401 the client reconnects with a fresh token and resumes
   * the session. `false` lets sessions outlive their tokens.
   * @default { refreshBefore: 60_000, leeway: jwt.clockTolerance or 0 }
   */
  tokenExpiry?: { refreshBefore?: number; leeway?: number } | false;
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
