import type { SchedulerLike, Observable } from 'rxjs';
import { asyncScheduler } from 'rxjs';
import {
  ErrorCode,
  RxwireTypeError,
  toLogger,
  type CloseInfo,
  type Logger,
  type Validators,
} from '../protocol/index.js';
import {
  anyObject,
  arrayOf,
  boolean,
  checkOptions,
  fn,
  isFalse,
  number,
  object,
  oneOf,
  or,
  string,
  type OptionRule,
} from '../protocol/option-check.js';
import type { WebSocketConstructor } from './socket.js';
import type { CloseDecision } from './close-policy.js';
import { browserWakeups } from './wakeups.js';
import type { AudioOptions } from './audio-sender.js';

/** Reconnection with exponential backoff. Delay n = min(maxDelay, initialDelay·factor^(n-1)) · (1 − jitter·random()). */
export interface ReconnectOptions {
  /** First wait before retrying, in ms. @default 1000 */
  initialDelay?: number;
  /** Longest wait, in ms; applied before jitter so jitter still spreads clients at the cap. @default 30000 */
  maxDelay?: number;
  /** Growth per failed attempt. @default 2 */
  factor?: number;
  /** Fraction of the delay removed at random (0 = exact delays, 0.5 = between half and all of it). @default 0.5 */
  jitter?: number;
  /**
   * Retries before giving up (status `'error'`, code `RXWIRE_RECONNECT_FAILED`):
   * the first attempt, or the drop of a working connection, is followed by up
   * to this many retries, waiting 1, 2, 4, 8 and 16 s with the defaults (and
   * `jitter: 0`). `0` never retries; `Infinity` never gives up. The count
   * starts over once a connection reaches `connected`. @default 5
   */
  maxAttempts?: number;
  /** Source of randomness for jitter, in [0, 1). @default Math.random */
  random?: () => number;
}

/** Application-level keep-alive with `$ping`/`$pong`. */
export interface HeartbeatOptions {
  /** Time between pings, in ms. @default 25000 */
  interval?: number;
  /** How long to wait for the `$pong`; a miss closes the socket and reconnects (`RXWIRE_HEARTBEAT_TIMEOUT`). @default 10000 */
  timeout?: number;
}

/** What `send` does while the client is not connected. */
export interface QueueOptions {
  /** Most messages held while offline. @default 1000 */
  limit?: number;
  /**
   * When the queue is full: `'drop-oldest'` discards the oldest queued message,
   * `'drop-newest'` discards the message being sent, `'error'` makes `send` throw
   * a `QueueFullError` (`RXWIRE_QUEUE_FULL`). Drops are counted in `state.dropped`
   * and logged. @default 'drop-oldest'
   */
  overflow?: 'drop-oldest' | 'drop-newest' | 'error';
}

/** Options of {@link createClient}. */
export interface ClientOptions<ServerMessages = Record<string, unknown>> {
  /**
   * WebSocket URL. @default in a browser `ws(s)://<location.host>/ws` (wss on https
   * pages), elsewhere `'ws://localhost:3001/ws'`
   */
  url?: string;
  /**
   * WebSocket constructor. In Node 20 pass `WebSocket` from the `ws` package; in
   * tests, `FakeWebSocket` from `rxwire/testing`. @default globalThis.WebSocket
   */
  WebSocketCtor?: WebSocketConstructor;
  /** WebSocket subprotocol(s) to request (not used over the HTTP transport). @default none */
  protocols?: string | string[];
  /**
   * Transports the client may use, in order of preference. `'http'` is the
   * fallback for networks that block WebSocket upgrades: Server-Sent Events
   * down, POSTs up, to `{url}/http` with `ws(s)` read as `http(s)` (the server
   * needs `fallback: true`). With both, the client starts on WebSocket, moves
   * to HTTP after `fallbackAfter` failed attempts (at once when there is no
   * WebSocket constructor), probes WebSocket every `probeInterval` while on
   * HTTP and moves back when it opens. A switch is a drop plus a resume:
   * nothing is lost or repeated. `state.transport` says which one is in use.
   * @default ['websocket']
   */
  transports?: ReadonlyArray<'websocket' | 'http'>;
  /**
   * Consecutive WebSocket attempts that fail before `$welcome` (no socket, a
   * drop, a connect timeout; not a close the server chose) before the client
   * switches to HTTP. Needs `'http'` in `transports`. @default 2
   */
  fallbackAfter?: number;
  /**
   * While on HTTP, how often to try opening a WebSocket in the background, in
   * ms; when one opens it is closed at once (1000, before `$hello`) and the
   * client moves the session back to WebSocket. `0` never probes. Timed on
   * `scheduler`. @default 30000
   */
  probeInterval?: number;
  /** The `fetch` the HTTP transport uses. @default globalThis.fetch */
  fetch?: typeof fetch;
  /**
   * Bearer token sent in `$hello`. A function is called before every connection
   * attempt, so it can refresh an expired token. @default none
   */
  token?: string | (() => string | Promise<string>);
  /** Backoff settings, or `false` to never reconnect. @default {initialDelay: 1000, maxDelay: 30000, factor: 2, jitter: 0.5, maxAttempts: 5} */
  reconnect?: ReconnectOptions | false;
  /**
   * Overrides the close policy. Return `true` to reconnect with backoff, `false`
   * to stop, a {@link CloseDecision}, or `undefined` for the default policy.
   * @default the policy in `defaultCloseDecision`
   */
  shouldReconnect?: (close: CloseInfo) => CloseDecision | boolean | undefined;
  /**
   * Longest wait from the start of an attempt (the `token` call included) to `$welcome`,
   * in ms; a miss counts as a failed attempt (`RXWIRE_CONNECT_TIMEOUT`). @default 10000
   */
  connectTimeout?: number;
  /** Keep-alive settings, or `false` to disable. @default {interval: 25000, timeout: 10000} */
  heartbeat?: HeartbeatOptions | false;
  /**
   * Messages waiting to be sent: while offline, and while `maxUnacked` are in
   * flight. Messages already sent are kept for resending until acknowledged and
   * are never dropped. @default {limit: 1000, overflow: 'drop-oldest'}
   */
  queue?: QueueOptions;
  /**
   * Most messages in flight (sent, not yet acknowledged by the server); more
   * wait in the queue until acks make room. Bounds what a resume resends.
   * @default 1000
   */
  maxUnacked?: number;
  /** Default per-request idle timeout, in ms: the longest wait for the next response frame; `0` disables. @default 30000 */
  requestTimeout?: number;
  /** Optional validators for server message payloads, per type (Standard Schema or function). @default none */
  validate?: Validators<ServerMessages>;
  /** Scheduler for every timer: backoff, timeouts, heartbeat. Pass the TestScheduler in marble tests. @default asyncScheduler */
  scheduler?: SchedulerLike;
  /**
   * Events that cut a pending backoff short. @default in a browser, `online`
   * and `visibilitychange` to visible; elsewhere none
   */
  wakeups?: Observable<unknown>;
  /** Connect as soon as the client is created. @default true */
  autoConnect?: boolean;
  /** Real-time audio policy for `client.audio`. @default {highWaterMarkMs: 500} */
  audio?: AudioOptions;
  /** Receives debug/info/warn/error reports (`console` fits; missing levels are dropped). @default a silent logger */
  logger?: Partial<Logger>;
}

/** Options with every default applied. */
export interface ResolvedOptions {
  url: string;
  /** Undefined only when `transports` allows `'http'` and there is no WebSocket. */
  WebSocketCtor: WebSocketConstructor | undefined;
  transports: ReadonlyArray<'websocket' | 'http'>;
  fallbackAfter: number;
  probeInterval: number;
  fetch: typeof fetch | undefined;
  protocols: string | string[] | undefined;
  token: (() => string | Promise<string>) | undefined;
  reconnect: Required<ReconnectOptions> | false;
  shouldReconnect: ClientOptions['shouldReconnect'];
  connectTimeout: number;
  heartbeat: Required<HeartbeatOptions> | false;
  queue: Required<QueueOptions>;
  maxUnacked: number;
  requestTimeout: number;
  validate: Record<string, import('../protocol/index.js').Validator | undefined>;
  audio: Required<AudioOptions>;
  scheduler: SchedulerLike;
  wakeups: Observable<unknown>;
  autoConnect: boolean;
  logger: Logger;
}

/** What each client option may be: unknown names and wrong types throw, naming the option. */
const shape = {
  url: string,
  WebSocketCtor: fn,
  protocols: or(string, arrayOf(string, 'strings')),
  transports: arrayOf(oneOf('websocket', 'http'), "'websocket' and 'http'"),
  fallbackAfter: number,
  probeInterval: number,
  fetch: fn,
  token: or(string, fn),
  reconnect: or(
    isFalse,
    object({
      initialDelay: number,
      maxDelay: number,
      factor: number,
      jitter: number,
      maxAttempts: number,
      random: fn,
    }),
  ),
  shouldReconnect: fn,
  connectTimeout: number,
  heartbeat: or(isFalse, object({ interval: number, timeout: number })),
  queue: object({ limit: number, overflow: oneOf('drop-oldest', 'drop-newest', 'error') }),
  maxUnacked: number,
  requestTimeout: number,
  validate: anyObject,
  scheduler: anyObject,
  wakeups: anyObject,
  autoConnect: boolean,
  audio: object({ highWaterMarkMs: number }),
  logger: anyObject,
} satisfies Record<keyof ClientOptions, OptionRule>;

/** Applies defaults once and fails fast on invalid values, naming the option. */
export function resolveOptions(options: ClientOptions<never>): ResolvedOptions {
  checkOptions(options, shape, 'createClient');
  const transports = options.transports ?? ['websocket'];
  if (
    !Array.isArray(transports) ||
    transports.length === 0 ||
    transports.some((t) => t !== 'websocket' && t !== 'http')
  ) {
    invalid('transports', "must be a non-empty array of 'websocket' and 'http'");
  }
  const http = transports.includes('http');
  const found =
    options.WebSocketCtor ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
  const WebSocketCtor = typeof found === 'function' ? found : undefined;
  const fetchFn = options.fetch ?? (globalThis as { fetch?: typeof fetch }).fetch;
  if (http && typeof fetchFn !== 'function') {
    invalid('fetch', "must be given for the 'http' transport (there is no globalThis.fetch)");
  }
  const fallbackAfter = options.fallbackAfter ?? 2;
  if (!Number.isInteger(fallbackAfter) || fallbackAfter < 1) {
    invalid('fallbackAfter', `must be a positive integer (got ${String(fallbackAfter)})`);
  }
  const probeInterval = options.probeInterval ?? 30_000;
  positive('probeInterval', probeInterval, true);
  if (WebSocketCtor === undefined && !(http && typeof fetchFn === 'function')) {
    throw new RxwireTypeError(
      ErrorCode.InvalidOption,
      "no WebSocket constructor: pass the 'WebSocketCtor' option (in Node 20: import WebSocket from 'ws')",
    );
  }
  const url = options.url ?? defaultUrl();
  if (!/^wss?:\/\//i.test(url)) {
    throw new RxwireTypeError(
      ErrorCode.InvalidOption,
      `'url' must start with ws:// or wss:// (got '${url}')`,
    );
  }
  const reconnect =
    options.reconnect === false
      ? false
      : {
          initialDelay: 1000,
          maxDelay: 30_000,
          factor: 2,
          jitter: 0.5,
          maxAttempts: 5,
          random: Math.random,
          ...definedOnly(options.reconnect ?? {}),
        };
  if (reconnect) {
    positive('reconnect.initialDelay', reconnect.initialDelay, true);
    positive('reconnect.maxDelay', reconnect.maxDelay, true);
    if (
      !(Number.isInteger(reconnect.maxAttempts) || reconnect.maxAttempts === Infinity) ||
      reconnect.maxAttempts < 0
    ) {
      invalid('reconnect.maxAttempts', 'must be an integer >= 0 or Infinity');
    }
    if (reconnect.factor < 1) invalid('reconnect.factor', 'must be >= 1');
    if (!(reconnect.jitter >= 0 && reconnect.jitter <= 1))
      invalid('reconnect.jitter', 'must be in [0, 1]');
    if (reconnect.maxDelay < reconnect.initialDelay) {
      invalid('reconnect.maxDelay', 'must be >= reconnect.initialDelay');
    }
  }
  const heartbeat =
    options.heartbeat === false
      ? false
      : { interval: 25_000, timeout: 10_000, ...definedOnly(options.heartbeat ?? {}) };
  if (heartbeat) {
    positive('heartbeat.interval', heartbeat.interval);
    positive('heartbeat.timeout', heartbeat.timeout);
  }
  const queue = {
    limit: 1000,
    overflow: 'drop-oldest' as const,
    ...definedOnly(options.queue ?? {}),
  };
  positive('queue.limit', queue.limit, true);
  if (!['drop-oldest', 'drop-newest', 'error'].includes(queue.overflow)) {
    invalid('queue.overflow', "must be 'drop-oldest', 'drop-newest' or 'error'");
  }
  const maxUnacked = options.maxUnacked ?? 1000;
  if (!Number.isInteger(maxUnacked) || maxUnacked < 1) {
    invalid('maxUnacked', `must be a positive integer (got ${String(maxUnacked)})`);
  }
  const connectTimeout = options.connectTimeout ?? 10_000;
  positive('connectTimeout', connectTimeout);
  const requestTimeout = options.requestTimeout ?? 30_000;
  positive('requestTimeout', requestTimeout, true);
  const audio = { highWaterMarkMs: 500, ...definedOnly(options.audio ?? {}) };
  positive('audio.highWaterMarkMs', audio.highWaterMarkMs, true);
  const token = options.token;
  return {
    audio,
    url,
    WebSocketCtor,
    transports,
    fallbackAfter,
    probeInterval,
    fetch: http ? fetchFn : undefined,
    protocols: options.protocols,
    token: token === undefined ? undefined : typeof token === 'function' ? token : () => token,
    reconnect,
    shouldReconnect: options.shouldReconnect,
    connectTimeout,
    heartbeat,
    queue,
    maxUnacked,
    requestTimeout,
    validate: (options.validate ?? {}) as ResolvedOptions['validate'],
    scheduler: options.scheduler ?? asyncScheduler,
    wakeups: options.wakeups ?? browserWakeups(),
    autoConnect: options.autoConnect ?? true,
    logger: toLogger(options.logger),
  };
}

function defaultUrl(): string {
  const location = (globalThis as { location?: { protocol: string; host: string } }).location;
  if (location && typeof location.host === 'string' && location.host) {
    return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`;
  }
  return 'ws://localhost:3001/ws';
}

/** Drops keys whose value is undefined so they do not override defaults. */
function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function positive(name: string, value: number, allowZeroOrInfinity = false): void {
  const ok = allowZeroOrInfinity ? value >= 0 : value > 0;
  if (typeof value !== 'number' || Number.isNaN(value) || !ok) {
    invalid(name, allowZeroOrInfinity ? 'must be a number >= 0' : 'must be a number > 0');
  }
}

function invalid(name: string, why: string): never {
  throw new RxwireTypeError(ErrorCode.InvalidOption, `'${name}' ${why}`);
}
