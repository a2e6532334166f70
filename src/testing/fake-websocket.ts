import { ReplaySubject, asyncScheduler, type Observable, type SchedulerLike } from 'rxjs';
import {
  Control,
  decodeText,
  isSequenced,
  PROTOCOL_VERSION,
  type CloseInfo,
  type Envelope,
  type HelloPayload,
} from '../protocol/index.js';
import type { WebSocketLike } from '../client/socket.js';

/** How the fake server answers new connections. */
export interface FakeServerOptions {
  /** Clock for every event; inside `TestScheduler.run` the default is virtual too. @default asyncScheduler */
  scheduler?: SchedulerLike;
  /**
   * What a new socket does: `'accept'` opens, `'refuse'` fails like an unreachable
   * server (error, then close 1006), `'hang'` stays connecting forever. @default 'accept'
   */
  behavior?: 'accept' | 'refuse' | 'hang';
  /** Delay before a new socket opens or is refused, in ms. @default 0 */
  openDelay?: number;
  /**
   * Answer `$hello` with `$welcome`: `true`, `false` (never answer), or a function
   * that returns `true` to welcome or a close `{code, reason}` to refuse (for example
   * 4401 for a bad token). @default true
   */
  welcome?:
    | boolean
    | ((hello: HelloPayload, socket: FakeWebSocket) => true | { code: number; reason?: string });
  /** Delay of the `$welcome` after `$hello`, in ms. @default 0 */
  welcomeDelay?: number;
  /** Answer `$ping` with `$pong`. @default true */
  pong?: boolean;
  /** Delay of each `$pong`, in ms. @default 0 */
  pongDelay?: number;
  /**
   * Act like an rxwire server that resumes sessions: `$welcome` offers a
   * resume token, a `$hello` that names a known session resumes it (the
   * frames the client missed are pushed again), pushed frames are numbered,
   * and client messages are acknowledged. `false` makes every connection a
   * new session and never acknowledges. Change it any time (for example to
   * act as if the recovery window passed). @default true
   */
  resume?: boolean;
  /** Delay of the `$ack` for client messages, in ms. @default 0 */
  ackDelay?: number;
  /**
   * Delay of the server's answer to the client's close frame, in ms: the
   * socket stays `CLOSING` that long (a slow close handshake). @default 0
   */
  closeDelay?: number;
  /**
   * The most virtual time a test may run, in ms. Inside `TestScheduler.run`,
   * `flush()` runs until no timer is left, so a client that keeps scheduling
   * (its heartbeat, or `reconnect.maxAttempts: Infinity`) would spin forever
   * at 100% CPU, out of reach of jest's timeout. Once virtual time has run
   * this far ahead of real time and the client still talks to the fake, the
   * fake throws a {@link RunawayClockError} out of `flush()`, saying what to
   * do. Real-time use never trips it. `Infinity` turns it off.
   * @default 3_600_000 // one hour of virtual time
   */
  maxVirtualTime?: number;
}

/**
 * Thrown out of `TestScheduler.run`'s flush when virtual time runs past the
 * fake server's `maxVirtualTime` while a client is still active: the test
 * would never end otherwise.
 */
export class RunawayClockError extends Error {
  override name = 'RunawayClockError';
  constructor(readonly maxVirtualTime: number) {
    super(
      `FakeServer: virtual time ran past ${maxVirtualTime} ms (maxVirtualTime) and a client is still ` +
        "talking to the fake: something schedules timers forever (the client's heartbeat, or " +
        'reconnect.maxAttempts: Infinity), so TestScheduler.run would never finish. End the client ' +
        'at the end of the test (fake.scheduler.schedule(() => client.dispose(), t)), pass ' +
        '`heartbeat: false` to createClient, or raise `maxVirtualTime`.',
    );
  }
}

/** A session the fake server remembers, for resumes. */
export interface FakeSession {
  readonly id: string;
  readonly token: string;
  /** Highest client `seq` received in order. */
  received: number;
  /** Next `seq` for a pushed frame. */
  nextSeq: number;
  /** Pushed frames the client has not acknowledged, for resending on resume. */
  unacked: Array<{ seq: number; data: string }>;
}

/**
 * A scripted stand-in for a WebSocket server, for marble tests. Pass
 * `fake.WebSocket` as the client's `WebSocketCtor`; every socket the client
 * opens is recorded in `sockets` with the time it was created, and each event
 * happens on the scheduler's clock, so reconnection timing is exact to the
 * virtual millisecond.
 *
 * @example
 * ```ts
 * testScheduler.run(({ expectObservable }) => {
 *   const fake = new FakeServer({ behavior: 'refuse' });
 *   createClient({ WebSocketCtor: fake.WebSocket, reconnect: { jitter: 0 } });
 *   // one socket per attempt: at 0, 1 s, 3 s, 7 s and 15 s, then the client gives up
 *   expectObservable(fake.connections$.pipe(map(() => 'x'))).toBe('x 999ms x 1999ms x 3999ms x 7999ms x');
 * });
 * ```
 */
export class FakeServer {
  /** Current behaviour for new sockets; change it any time (for example to bring the server "back"). */
  behavior: NonNullable<FakeServerOptions['behavior']>;
  welcome: NonNullable<FakeServerOptions['welcome']>;
  pong: boolean;
  openDelay: number;
  welcomeDelay: number;
  pongDelay: number;
  resume: boolean;
  ackDelay: number;
  closeDelay: number;
  maxVirtualTime: number;
  /** Sessions by id (every one the fake has welcomed). */
  readonly sessionsById = new Map<string, FakeSession>();
  readonly scheduler: SchedulerLike;
  /** Every socket created, oldest first. */
  readonly sockets: FakeWebSocket[] = [];
  /** When each socket was created, on the scheduler's clock. */
  readonly createdAt: number[] = [];
  /** The constructor to pass as `WebSocketCtor`. */
  readonly WebSocket: new (url: string, protocols?: string | string[]) => FakeWebSocket;
  private sessions = 0;
  private readonly created = new ReplaySubject<FakeWebSocket>();
  /** Every socket the client creates (replayed to late subscribers): marble-test attempt times with it. */
  readonly connections$: Observable<FakeWebSocket> = this.created.asObservable();

  constructor(options: FakeServerOptions = {}) {
    this.scheduler = options.scheduler ?? asyncScheduler;
    this.behavior = options.behavior ?? 'accept';
    this.welcome = options.welcome ?? true;
    this.pong = options.pong ?? true;
    this.openDelay = options.openDelay ?? 0;
    this.welcomeDelay = options.welcomeDelay ?? 0;
    this.pongDelay = options.pongDelay ?? 0;
    this.resume = options.resume ?? true;
    this.ackDelay = options.ackDelay ?? 0;
    this.closeDelay = options.closeDelay ?? 0;
    this.maxVirtualTime = options.maxVirtualTime ?? 3_600_000;
    this.startedAt = { scheduler: this.scheduler.now(), real: Date.now() };
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const server = this;
    this.WebSocket = class extends FakeWebSocket {
      constructor(url: string, protocols?: string | string[]) {
        super(server, url, protocols);
      }
    };
  }

  private readonly startedAt: { scheduler: number; real: number };
  private runaway = false;

  /**
   * @internal Called on every client event: fails the test (out of flush)
   * once virtual time has run `maxVirtualTime` ahead of real time.
   */
  checkClock(): void {
    if (this.runaway) return;
    const virtual = this.scheduler.now() - this.startedAt.scheduler;
    const real = Date.now() - this.startedAt.real;
    if (virtual - real <= this.maxVirtualTime) return;
    this.runaway = true;
    const error = new RunawayClockError(this.maxVirtualTime);
    // Thrown from an action of its own, so it leaves flush() instead of the client catching it.
    this.scheduler.schedule(() => {
      throw error;
    });
  }

  /** The most recent socket. */
  get last(): FakeWebSocket | undefined {
    return this.sockets[this.sockets.length - 1];
  }

  /** Sockets currently open. */
  get open(): FakeWebSocket[] {
    return this.sockets.filter((s) => s.readyState === FakeWebSocket.OPEN);
  }

  /** @internal */
  register(socket: FakeWebSocket): void {
    this.checkClock();
    this.sockets.push(socket);
    this.createdAt.push(this.scheduler.now());
    this.created.next(socket);
    const behavior = this.behavior;
    if (behavior === 'hang') return;
    this.scheduler.schedule(() => {
      if (behavior === 'accept') socket.accept();
      else socket.fail();
    }, this.openDelay);
  }

  /** @internal */
  newSession(): FakeSession {
    const id = `fake-session-${++this.sessions}`;
    const session: FakeSession = {
      id,
      token: `token-${id}`,
      received: 0,
      nextSeq: 1,
      unacked: [],
    };
    this.sessionsById.set(id, session);
    return session;
  }
}

/** One fake socket. The client sees the WebSocket API; the test drives the server side. */
export class FakeWebSocket implements WebSocketLike {
  static readonly CONNECTING = 0;
  static readonly OPEN = 1;
  static readonly CLOSING = 2;
  static readonly CLOSED = 3;

  readyState = FakeWebSocket.CONNECTING;
  bufferedAmount = 0;
  binaryType = 'blob';
  onopen: ((event: unknown) => unknown) | null = null;
  onclose: ((event: unknown) => unknown) | null = null;
  onmessage: ((event: unknown) => unknown) | null = null;
  onerror: ((event: unknown) => unknown) | null = null;
  /** Every frame the client sent, as sent. */
  readonly sent: (string | ArrayBufferLike | ArrayBufferView)[] = [];
  /** The close the client asked for, if it closed. */
  clientClose: { code?: number; reason?: string } | undefined;
  /** The session this socket carries, once welcomed. */
  session: FakeSession | undefined;
  /** Whether the `$welcome` resumed an earlier session. */
  resumed = false;

  constructor(
    readonly server: FakeServer,
    readonly url: string,
    readonly protocols?: string | string[],
  ) {
    server.register(this);
  }

  /** Text frames the client sent, parsed (frames that do not parse are left out). */
  get envelopes(): Envelope[] {
    const out: Envelope[] = [];
    for (const frame of this.sent) {
      if (typeof frame !== 'string') continue;
      const decoded = decodeText(frame);
      if (decoded.kind === 'envelope') out.push(decoded.envelope);
    }
    return out;
  }

  /** Application envelopes the client sent (no `$` control frames). */
  get messages(): Envelope[] {
    return this.envelopes.filter((e) => !e.type.startsWith('$'));
  }

  // ---- the WebSocket API the client uses ---------------------------------------

  send(data: string | ArrayBufferLike | ArrayBufferView): void {
    if (this.readyState === FakeWebSocket.CONNECTING) {
      throw new Error(
        "InvalidStateError: Failed to execute 'send' on 'WebSocket': still in CONNECTING state",
      );
    }
    if (this.readyState !== FakeWebSocket.OPEN) return;
    this.server.checkClock();
    this.sent.push(data);
    if (typeof data === 'string') this.autoRespond(data);
  }

  close(code?: number, reason?: string): void {
    if (this.readyState === FakeWebSocket.CLOSING || this.readyState === FakeWebSocket.CLOSED)
      return;
    const wasConnecting = this.readyState === FakeWebSocket.CONNECTING;
    this.clientClose = {
      ...(code !== undefined ? { code } : {}),
      ...(reason !== undefined ? { reason } : {}),
    };
    this.readyState = FakeWebSocket.CLOSING;
    this.server.scheduler.schedule(
      () => {
        if (this.readyState === FakeWebSocket.CLOSED) return;
        if (wasConnecting) this.emit('onerror', { type: 'error' });
        this.finish({
          code: wasConnecting ? 1006 : (code ?? 1005),
          reason: reason ?? '',
          wasClean: !wasConnecting,
        });
      },
      wasConnecting ? 0 : this.server.closeDelay,
    );
  }

  // ---- the server side, for tests ------------------------------------------------

  /** Opens the socket now (the client then sends `$hello`). */
  accept(): void {
    if (this.readyState !== FakeWebSocket.CONNECTING) return;
    this.readyState = FakeWebSocket.OPEN;
    this.emit('onopen', { type: 'open' });
  }

  /** Fails the connection like a network error: `error`, then close 1006 (not clean). */
  fail(): void {
    if (this.readyState === FakeWebSocket.CLOSED) return;
    this.emit('onerror', { type: 'error' });
    this.finish({ code: 1006, reason: '', wasClean: false });
  }

  /** Drops an open connection without a close frame (close 1006, not clean), as a dead network does. */
  drop(): void {
    this.fail();
  }

  /** The server closes the connection cleanly with `code`. */
  serverClose(code = 1000, reason = ''): void {
    if (this.readyState === FakeWebSocket.CLOSED) return;
    this.readyState = FakeWebSocket.CLOSING;
    this.finish({ code, reason, wasClean: true });
  }

  /**
   * Delivers a frame from the server now: an envelope (missing `id`/`timestamp`
   * filled in; a sequenced type gets the session's next `seq` unless it has
   * one) or raw data.
   */
  push(frame: Partial<Envelope> & { type: string }): void;
  push(raw: string | ArrayBuffer): void;
  push(frame: string | ArrayBuffer | (Partial<Envelope> & { type: string })): void {
    if (this.readyState !== FakeWebSocket.OPEN) return;
    if (typeof frame === 'string' || frame instanceof ArrayBuffer) {
      this.emit('onmessage', { type: 'message', data: frame });
      return;
    }
    const envelope: Record<string, unknown> = {
      id: `s${this.serverIds++}`,
      timestamp: new Date(this.server.scheduler.now()).toISOString(),
      payload: null,
      ...frame,
    };
    const session = this.session;
    const numbered =
      session !== undefined &&
      this.server.resume &&
      frame.seq === undefined &&
      isSequenced(frame.type);
    if (numbered) envelope.seq = session.nextSeq++;
    const data = JSON.stringify(envelope);
    if (numbered) session.unacked.push({ seq: envelope.seq as number, data });
    this.emit('onmessage', { type: 'message', data });
  }

  /** Sends `$welcome` for the client's `$hello` (done automatically unless `welcome: false`). */
  sendWelcome(replyTo?: string, hello?: HelloPayload): void {
    const { server } = this;
    const asked = hello?.resume;
    const known = asked !== undefined ? server.sessionsById.get(asked.sessionId) : undefined;
    const resumed = server.resume && known !== undefined && known.token === asked!.token;
    const session = resumed ? known! : server.newSession();
    this.session = session;
    this.resumed = resumed;
    if (resumed) acknowledge(session, asked!.ack);
    this.push({
      type: Control.Welcome,
      payload: {
        v: PROTOCOL_VERSION,
        sessionId: session.id,
        ...(server.resume ? { resumeToken: session.token, resumed, ack: session.received } : {}),
      },
      ...(replyTo !== undefined ? { replyTo } : {}),
    });
    if (resumed) {
      for (const { data } of [...session.unacked]) {
        this.emit('onmessage', { type: 'message', data });
      }
    }
  }

  private serverIds = 1;

  private autoRespond(data: string): void {
    const decoded = decodeText(data);
    if (decoded.kind !== 'envelope') return;
    const { type, id, payload, seq, ack } = decoded.envelope;
    const { server } = this;
    const session = this.session;
    if (session !== undefined && server.resume) {
      if (ack !== undefined) acknowledge(session, ack);
      if (seq !== undefined && isSequenced(type)) {
        if (seq === session.received + 1) session.received = seq;
        server.scheduler.schedule(() => {
          if (this.session === session && this.readyState === FakeWebSocket.OPEN) {
            this.push({ type: Control.Ack, ack: session.received });
          }
        }, server.ackDelay);
      }
    }
    if (type === Control.Hello) {
      const verdict =
        typeof server.welcome === 'function'
          ? server.welcome(payload as HelloPayload, this)
          : server.welcome;
      if (verdict === false) return;
      server.scheduler.schedule(() => {
        if (verdict === true) this.sendWelcome(id, payload as HelloPayload);
        else this.serverClose(verdict.code, verdict.reason ?? '');
      }, server.welcomeDelay);
    } else if (type === Control.Ping && server.pong) {
      server.scheduler.schedule(
        () => this.push({ type: Control.Pong, replyTo: id }),
        server.pongDelay,
      );
    }
  }

  private finish(close: CloseInfo): void {
    this.readyState = FakeWebSocket.CLOSED;
    this.emit('onclose', { type: 'close', ...close });
  }

  private emit(handler: 'onopen' | 'onclose' | 'onmessage' | 'onerror', event: object): void {
    this[handler]?.({ ...event, target: this });
  }
}

function acknowledge(session: FakeSession, ack: number): void {
  while (session.unacked.length > 0 && session.unacked[0]!.seq <= ack) session.unacked.shift();
}
