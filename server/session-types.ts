// The public face of a session: the `Session` interface applications use, and
// the small types around it. The implementation is split by concern:
// session-streams.ts (what the app observes), session-link.ts (the connection
// that carries it, resume and the recovery window), delivery.ts (sequence
// numbers, acks and the frames kept for resending), session.ts (the session
// itself: sending, requests, closing) and handover.ts (moving a session to
// another node: freeze, export, import).
import type { IncomingMessage } from 'node:http';
import type { Observable } from 'rxjs';
import type { AudioChunk } from '../src/audio/types.js';
import type {
  AnyProtocol,
  ClientType,
  DeliveryStats,
  Envelope,
  PayloadOf,
  Protocol,
  ServerType,
} from '../src/protocol/index.js';
import type { SessionAudioStats } from './audio-stats.js';

/**
 * How a session ended: the close code and reason of its last socket (1006
 * when it just dropped). `expired` is true when the connection dropped and the
 * client did not resume within `recoveryWindow`. `moved` is set when the
 * session did not end but moved to another node of the cluster (`to`: that
 * node, or null when it was handed to the cluster by `drain()` and any node
 * may take it): its streams complete here and continue on the session that
 * node's `sessions$` emits.
 */
export interface SessionClose {
  code: number;
  reason: string;
  expired?: boolean;
  moved?: { to: string | null };
}

/** Delivery counters of one session (see {@link Session.delivery}). */
export interface SessionDelivery extends DeliveryStats {
  /** Bytes of the unacknowledged frames kept for resending. */
  unackedBytes: number;
  /** Client messages received in order (the ack the server gives). */
  received: number;
  /** How many times the client resumed this session. */
  resumes: number;
}

/** The part of the opening HTTP request a session keeps (see {@link Session.request}). */
export interface SessionRequest {
  /** Path and query of the request, e.g. `/ws?room=7`. */
  readonly url: string;
  /**
   * Request headers, lower-cased names (as `IncomingMessage#headers`),
   * without those that only served the WebSocket handshake and mean nothing
   * once it is over: {@link HANDSHAKE_HEADERS} (`connection`, `upgrade`,
   * `sec-websocket-key`, `-version`, `-extensions`). Everything else is kept
   * (`host`, `origin`, `cookie`, `user-agent`, `authorization`, custom ones).
   */
  readonly headers: IncomingMessage['headers'];
  /** The connection's socket: `remoteAddress`, `remotePort`. */
  readonly socket: IncomingMessage['socket'];
  /**
   * The client's address, as `maxConnectionsPerIp` counted it: the socket's
   * remote address, or with `trustProxy` the one your proxies recorded in
   * `X-Forwarded-For`. Normalized: no port, lower case, IPv4-mapped IPv6
   * (`::ffff:1.2.3.4`) as plain IPv4. Log this rather than `socket.remoteAddress`
   * behind a proxy.
   */
  readonly ip: string;
}

/**
 * Headers a session does not keep (see {@link SessionRequest.headers}): they
 * belong to the WebSocket upgrade itself, and dropping them saves about 150
 * bytes per idle session.
 */
export const HANDSHAKE_HEADERS: ReadonlySet<string> = new Set([
  'connection',
  'upgrade',
  'sec-websocket-key',
  'sec-websocket-version',
  'sec-websocket-extensions',
]);

/**
 * Keeps url, headers (less {@link HANDSHAKE_HEADERS}) and socket of a
 * request, not the request object itself, and the client address `ip`.
 */
export function sessionRequest(request: IncomingMessage, ip: string): SessionRequest {
  const all = request.headers;
  const headers: IncomingMessage['headers'] = {};
  for (const name in all) {
    if (!HANDSHAKE_HEADERS.has(name)) headers[name] = all[name];
  }
  return { url: request.url ?? '/', headers, socket: request.socket, ip };
}

/** One plain message from the client, as `messages$` emits it: a union over the client types. */
export type InboundMessage<P extends Protocol = AnyProtocol> = {
  [K in ClientType<P>]: Envelope<K, PayloadOf<P['client'], K>>;
}[ClientType<P>];

/** `'open'` until `close()` is called (`'closing'`) or the socket is gone (`'closed'`). */
export type SessionState = 'open' | 'closing' | 'closed';

/**
 * One authenticated connection. Every stream completes when the session ends.
 *
 * @example
 * ```ts
 * server.sessions$.subscribe((session) => {
 *   session.on('typing').subscribe(({ on }) => session.send('ack', { on }));
 *   session.closed$.subscribe(({ code }) => log.info(`${session.id} left with ${code}`));
 * });
 * ```
 */
export interface Session<P extends Protocol = AnyProtocol, U = unknown> {
  /** Unique id of this session, also sent to the client in `$welcome`. */
  readonly id: string;
  /** What `authenticate` (or the JWT's claims) said this connection is. */
  readonly user: U;
  /** The node that holds the session: `server.nodeId`. */
  readonly nodeId: string;
  /**
   * Always false for a session of this node. A broadcast `filter` on a
   * clustered server also sees the other nodes' sessions, as
   * `RemoteSession` objects whose `remote` is true and which have only
   * `id`, `user`, `nodeId` and `connected`.
   */
  readonly remote: false;
  /**
   * The node this session moved in from, when another node held it before
   * (a clustered server took it over: its client resumed here). `sessions$`
   * emits such a session like a new one, so per-session subscriptions attach
   * here; on the old node its streams completed and `closed$` said `moved`.
   * Undefined for a session that started on this node.
   */
  readonly movedFrom: string | undefined;
  /**
   * When the session's token expires, in ms since the epoch (the JWT `exp`,
   * or `withExpiry` from `authenticate`); undefined when it does not. The
   * client refreshes it in band before then (option `tokenExpiry`), which
   * moves it and may bring the user fresher claims (`user` follows).
   */
  readonly expiresAt: number | undefined;
  /**
   * What the session keeps of the HTTP request that opened it: url, headers,
   * the socket and the client address (`ip`, see `trustProxy`). The full `IncomingMessage` goes to
   * `authenticate`; a session does not hold on to it, to stay small.
   */
  readonly request: SessionRequest;
  /**
   * What carries the session now: `'websocket'`, or `'http'` for a client on
   * the HTTP fallback transport (server option `fallback`). It changes when the
   * client resumes the session over the other transport; while the session
   * waits for a resume it keeps the last one.
   */
  readonly transport: 'websocket' | 'http';
  readonly state: SessionState;
  /** Every plain (non-request) message the client sends, as envelopes. */
  readonly messages$: Observable<InboundMessage<P>>;
  /** Payloads of one client message type. */
  on<K extends ClientType<P>>(type: K): Observable<PayloadOf<P['client'], K>>;
  /**
   * Audio chunks decoded from the client's binary frames, every stream, in
   * arrival order (late and duplicate frames included: see `audioStats`).
   * Hot: chunks that arrive while nobody subscribes are not kept. Completes with the session.
   *
   * Each chunk's `samples` are its own copy, but like a small Node `Buffer`
   * they live in a shared pool: `samples.buffer` is larger than the samples,
   * so read them through `samples` itself (or `byteOffset`/`byteLength`),
   * e.g. `Buffer.from(samples.buffer, samples.byteOffset, samples.byteLength)`.
   *
   * @example
   * ```ts
   * session.audio$.subscribe(({ streamId, seq, samples }) => recorder.write(streamId, seq, samples));
   * ```
   */
  readonly audio$: Observable<AudioChunk>;
  /**
   * The chunks of one audio stream (frames whose header carries `streamId`),
   * in arrival order. Hot like `audio$`; completes with the session (the wire
   * has no end-of-stream marker: end a stream with your own message and `takeUntil`).
   * A `streamId` that is not a u32 throws an `RxwireTypeError` (RXWIRE_INVALID_OPTION).
   *
   * @example
   * ```ts
   * session.audioStream(1).pipe(takeUntil(session.on('hangup'))).subscribe(transcriber);
   * ```
   */
  audioStream(streamId: number): Observable<AudioChunk>;
  /**
   * Audio statistics: the current value at once, then a new one after every
   * audio frame (and every dropped or rejected binary frame). Completes with
   * the session. Snapshots are immutable. A snapshot is only built while
   * someone subscribes (about 1 µs a frame, against 5-9 µs to receive and
   * decode a 20 ms frame); for a display, `auditTime(250)` is plenty.
   *
   * @example
   * ```ts
   * session.audioStats$
   *   .pipe(map((s) => s.streams.get(1)?.lost ?? 0), distinctUntilChanged())
   *   .subscribe((lost) => metrics.gauge('audio.lost', lost));
   * ```
   */
  readonly audioStats$: Observable<SessionAudioStats>;
  /**
   * The current audio statistics, synchronously: per stream received, lost,
   * reordered, duplicates, stale, first and last sequence numbers; and the
   * session's frames dropped over the audio rate limit and rejected. Stays
   * readable after the session ends.
   *
   * @example
   * ```ts
   * session.closed$.subscribe(() => log.info('audio', session.audioStats.streams.get(0)));
   * ```
   */
  readonly audioStats: SessionAudioStats;
  /**
   * Sends a message to this client: delivered exactly once and in order,
   * also across a dropped connection the client resumes (while it is away the
   * message waits). A `$`-prefixed type throws an `RxwireTypeError`
   * (RXWIRE_RESERVED_TYPE); over `maxUnacked` it throws `QueueFullError`; on
   * a closed session it is a no-op.
   */
  send<K extends ServerType<P>>(type: K, payload: PayloadOf<P['server'], K>): void;
  /**
   * Like `send`, and resolves once the client acknowledges the message (it
   * was delivered to the client app). Rejects with RXWIRE_SESSION_LOST when
   * the session ends first, RXWIRE_CONFIRM_TIMEOUT after `timeout` ms, or
   * `QueueFullError` when over `maxUnacked`.
   *
   * @example
   * ```ts
   * await session.sendConfirmed('invoice', { id: 42 }, { timeout: 10_000 });
   * ```
   */
  sendConfirmed<K extends ServerType<P>>(
    type: K,
    payload: PayloadOf<P['server'], K>,
    options?: { /** @default none */ timeout?: number },
  ): Promise<void>;
  /**
   * True while a connection carries the session; false while it waits for
   * the client to resume (sends are kept and delivered on resume) and after it ended.
   */
  readonly connected: boolean;
  /**
   * `connected` as a stream: the current value at once, then every change
   * (false when the connection drops, true when the client resumes).
   * Completes when the session ends.
   *
   * @example
   * ```ts
   * session.connected$.subscribe((up) => presence.set(session.id, up ? 'online' : 'away'));
   * ```
   */
  readonly connected$: Observable<boolean>;
  /**
   * Delivery counters: unacknowledged messages (and their bytes), resends,
   * duplicate client messages dropped, messages received, resumes.
   *
   * @example
   * ```ts
   * metrics.gauge('rxwire.unacked', session.delivery.unacked);
   * ```
   */
  readonly delivery: SessionDelivery;
  /** Closes the connection with `code` (default 1000) and `reason` (clamped to 122 bytes). The session ends; it cannot be resumed. */
  close(code?: number, reason?: string): void;
  /** Emits once, when the socket has closed, then completes. */
  readonly closed$: Observable<SessionClose>;
}
