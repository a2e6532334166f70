import type { Observable, Subject } from 'rxjs';
import type { AudioChunk } from '../audio/types.js';
import type {
  AnyProtocol,
  ClientType,
  Envelope,
  PayloadOf,
  Protocol,
  RequestOf,
  RequestType,
  ResponseOf,
  RxwireError,
  ServerType,
} from '../protocol/index.js';
import type { ConnectionState } from './state.js';
import type { AudioStats } from './audio-sender.js';

/** Options of one `client.request()` call. */
export interface RequestOptions {
  /** Longest wait for the next response frame, in ms; `0` disables. @default the client's `requestTimeout` (30000) */
  timeout?: number;
}

/** Options of one `client.sendConfirmed()` call. */
export interface ConfirmOptions {
  /** Reject with RXWIRE_CONFIRM_TIMEOUT if the server has not acknowledged within this many ms. @default none */
  timeout?: number;
}

/** What `sessions$` emits on every connection. */
export interface SessionInfo {
  sessionId: string;
  /** True when the connection resumed the previous session; false for a new one. */
  resumed: boolean;
  /** The session this one replaces, when the server did not resume it. */
  previousSessionId?: string;
}

/** The client returned by {@link createClient}. Sends `P['client']` types, receives `P['server']` types. */
export interface Client<P extends Protocol = AnyProtocol> {
  /** Opens the connection (idempotent). Called by `createClient` unless `autoConnect: false`. */
  connect(): void;
  /**
   * Closes the connection with `code` (default 1000) and never reconnects on its own.
   * Waits up to 5 s for the server to acknowledge the close. Messages sent afterwards
   * queue for the next `connect()`.
   */
  disconnect(code?: number, reason?: string): void;
  /** Starts over now: drops the current socket or pending backoff, resets the attempt count, connects. Also leaves `'error'`. */
  reconnect(): void;
  /** Disconnects, completes every stream and errors pending requests (`RXWIRE_DISPOSED`). The client cannot be used afterwards. */
  dispose(): void;
  /** The connection state; replays the current value, emits only changes. */
  readonly state$: Observable<ConnectionState>;
  /** The current state, synchronously. */
  readonly state: ConnectionState;
  /** Every inbound application envelope (no control frames). */
  readonly messages$: Observable<Envelope>;
  /** Payloads of one server message type. */
  on<K extends ServerType<P>>(type: K): Observable<PayloadOf<P['server'], K>>;
  /**
   * Sends a message: delivered to the server exactly once and in order, also
   * across dropped connections, as long as the session resumes within the
   * server's recovery window. While not connected it waits in the bounded
   * queue. Throws `RxwireTypeError` (`RXWIRE_RESERVED_TYPE`) for `$` types and
   * `QueueFullError` when the queue is full under `overflow: 'error'`.
   */
  send<K extends ClientType<P>>(type: K, payload: PayloadOf<P['client'], K>): void;
  /**
   * Like `send`, and resolves when the server acknowledges the message (it
   * was delivered to the server app). Rejects with RXWIRE_CONFIRM_TIMEOUT
   * after `timeout`, `QueueFullError` if the queue refused or dropped it, and
   * RXWIRE_DISPOSED on `dispose()`.
   *
   * @example
   * ```ts
   * await client.sendConfirmed('payment', { amount: 42 }, { timeout: 10_000 });
   * ```
   */
  sendConfirmed<K extends ClientType<P>>(
    type: K,
    payload: PayloadOf<P['client'], K>,
    options?: ConfirmOptions,
  ): Promise<void>;
  /**
   * One value per connection: the session id and whether the connection
   * resumed the previous session. `resumed: false` after the first connection
   * means the server started over (resync app state); unacknowledged messages
   * are sent again to the new session.
   *
   * @example
   * ```ts
   * client.sessions$.pipe(filter((s) => !s.resumed && !!s.previousSessionId)).subscribe(() => reloadHistory());
   * ```
   */
  readonly sessions$: Observable<SessionInfo>;
  /**
   * A cold request stream: subscribing sends the request; each `$next` from the server
   * is a value, `$complete` completes, `$error` errors with a `RemoteError`; no
   * response frame within the timeout errors with `RequestTimeoutError`. Unsubscribing
   * early sends `$cancel`. A request in flight survives a dropped connection when the
   * session resumes; if the server starts a new session instead it errors with
   * `RXWIRE_SESSION_LOST`, and if the client stops (gives up, `disconnect()`) with
   * `RXWIRE_CONNECTION_LOST`. A request still queued waits for the next connection.
   */
  request<K extends RequestType<P>>(
    type: K,
    payload: RequestOf<P, K>,
    options?: RequestOptions,
  ): Observable<ResponseOf<P, K>>;
  /**
   * Audio to send: each chunk next()ed here goes out as one binary audio frame
   * while connected. Audio is real-time: while offline, or while more than
   * `audio.highWaterMarkMs` of audio waits in the socket's buffer, chunks are
   * dropped and counted in `audioStats$`, never queued. Use `streamId` on the
   * chunks to send several streams at once.
   */
  readonly audio: Subject<AudioChunk>;
  /** Audio counters (sent, dropped offline, dropped for backpressure), in total and per stream; replays the current value. */
  readonly audioStats$: Observable<AudioStats>;
  /** Each measured round-trip time, in ms. */
  readonly latency$: Observable<number>;
  /**
   * Problems that do not end the connection: `$error` frames from the server that
   * answer no request (`RemoteError`), and malformed frames we received (`ProtocolError`).
   */
  readonly errors$: Observable<RxwireError>;
}
