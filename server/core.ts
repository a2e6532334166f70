import { randomBytes, randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { Observable, Subject, Subscription, type ObservableInput } from 'rxjs';
import {
  CloseCode,
  ErrorCode,
  RxwireTypeError,
  createIdGenerator,
  isReservedType,
  type AnyProtocol,
  type PayloadOf,
  type Protocol,
  type RequestOf,
  type RequestType,
  type ResponseOf,
  type ServerType,
} from '../src/protocol/index.js';
import { receiveAudioFrame } from './audio.js';
import { createAuthenticator, type AuthOutcome } from './auth.js';
import {
  Connection,
  type BinaryHandler,
  type ConnectionHost,
  type SessionSocket,
  type UpgradeInfo,
} from './connection.js';
import { contained } from './contain.js';
import { payloadJson } from './frames.js';
import { resolveOptions, type ResolvedOptions, type ServerOptions } from './options.js';
import type { AnyHandler } from './requests.js';
import { assertSendable, type ServerSession, type Session } from './session.js';

/**
 * Serves one request type: gets the request payload and its session, returns
 * what to stream back (an Observable, a Promise, an array, an async iterable).
 */
export type RequestHandler<P extends Protocol, U, K extends RequestType<P>> = (
  request: RequestOf<P, K>,
  session: Session<P, U>,
) => ObservableInput<ResponseOf<P, K>>;

/**
 * The transport-free heart of the server: sessions, request handlers,
 * broadcast and shutdown. The ws glue feeds it sockets through {@link open};
 * tests feed it plain objects.
 */
export class ServerCore<P extends Protocol = AnyProtocol, U = unknown> implements ConnectionHost {
  readonly options: ResolvedOptions;
  readonly handlers = new Map<string, AnyHandler>();
  readonly nextId = createIdGenerator();
  readonly resumeKey: Uint8Array = randomBytes(32);
  readonly authenticate: (
    token: string | undefined,
    request: IncomingMessage,
  ) => Promise<AuthOutcome<unknown>>;
  /**
   * The seam for binary frames once a session is open: by default they are
   * decoded as audio frames into `session.audio$`; null rejects them with
   * RXWIRE_BAD_BINARY_FRAME.
   */
  onBinary: BinaryHandler | null = receiveAudioFrame;

  readonly sessions$: Observable<Session<P, U>>;
  private readonly live = new Map<string, ServerSession<P, U>>();
  private readonly connections = new Set<Connection>();
  private readonly opened$ = new Subject<Session<P, U>>();
  private shutdownPromise: Promise<void> | null = null;
  private drained: (() => void) | null = null;

  constructor(options: ServerOptions<P, U>) {
    this.options = resolveOptions(options as ServerOptions<Protocol, unknown>);
    this.authenticate = createAuthenticator<unknown>(options, this.options.logger);
    this.sessions$ = this.opened$.asObservable();
  }

  /** Live sessions by id. */
  get sessions(): ReadonlyMap<string, Session<P, U>> {
    return this.live;
  }

  /** Open connections, including those still in the handshake. */
  get connectionCount(): number {
    return this.connections.size;
  }

  /** Starts serving one socket. The caller forwards its frames to `receive` and its close to `closed`. */
  open(socket: SessionSocket, info: UpgradeInfo): Connection {
    const connection = new Connection(randomUUID(), socket, info, this);
    this.connections.add(connection);
    if (this.shutdownPromise) connection.close(CloseCode.GoingAway, 'server shutting down');
    return connection;
  }

  opened(session: ServerSession<never, unknown>): void {
    const typed = session as unknown as ServerSession<P, U>;
    this.live.set(typed.id, typed);
    contained(typed, '$sessions', undefined, emit, this.opened$, typed);
  }

  session(id: string): ServerSession<never, unknown> | undefined {
    return this.live.get(id) as ServerSession<never, unknown> | undefined;
  }

  ended(session: ServerSession<never, unknown>): void {
    if (this.live.get(session.id) === (session as unknown)) this.live.delete(session.id);
  }

  detach(connection: Connection): void {
    this.connections.delete(connection);
    if (this.connections.size === 0) this.drained?.();
  }

  handle<K extends RequestType<P>>(type: K, handler: RequestHandler<P, U, K>): Subscription {
    if (typeof type !== 'string' || type.length === 0 || isReservedType(type)) {
      throw new RxwireTypeError(
        ErrorCode.ReservedType,
        `cannot handle type '${String(type)}': types starting with '$' are reserved for the protocol`,
      );
    }
    if (typeof handler !== 'function') {
      throw new RxwireTypeError(
        ErrorCode.InvalidOption,
        `handler for '${type}' must be a function`,
      );
    }
    if (this.handlers.has(type)) {
      throw new RxwireTypeError(
        ErrorCode.InvalidOption,
        `a handler for '${type}' is already registered (unsubscribe the first one to replace it)`,
      );
    }
    const stored = handler as unknown as AnyHandler;
    this.handlers.set(type, stored);
    return new Subscription(() => {
      if (this.handlers.get(type) === stored) this.handlers.delete(type);
    });
  }

  broadcast<K extends ServerType<P>>(
    type: K,
    payload: PayloadOf<P['server'], K>,
    filter?: (session: Session<P, U>) => boolean,
  ): number {
    assertSendable(type);
    if (this.live.size === 0) return 0;
    // The payload is encoded once; each session numbers its own copy.
    const json = payloadJson(payload);
    let sent = 0;
    let full = 0;
    for (const session of this.live.values()) {
      if (filter && !filter(session)) continue;
      if (session.sendJson(type, json)) sent += 1;
      else if (session.state === 'open') full += 1;
    }
    if (full > 0) {
      this.options.logger.warn('broadcast skipped sessions over maxUnacked', {
        type,
        skipped: full,
      });
    }
    return sent;
  }

  /**
   * Closes every connection with 1001, waits up to `shutdownTimeout` for them
   * to go, terminates the rest, and completes `sessions$`. Idempotent.
   */
  shutdown(): Promise<void> {
    this.shutdownPromise ??= this.drain();
    return this.shutdownPromise;
  }

  private async drain(): Promise<void> {
    for (const connection of [...this.connections]) {
      connection.close(CloseCode.GoingAway, 'server shutting down');
    }
    if (this.connections.size > 0) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      await new Promise<void>((resolve) => {
        this.drained = resolve;
        timer = setTimeout(resolve, this.options.shutdownTimeout);
      });
      clearTimeout(timer);
      this.drained = null;
    }
    const stragglers = [...this.connections];
    if (stragglers.length > 0) {
      this.options.logger.warn('terminating connections that did not close in time', {
        count: stragglers.length,
      });
    }
    for (const connection of stragglers) {
      connection.terminate();
      // Their socket may report the close later; the session ends now either way.
      connection.closed(CloseCode.Abnormal, 'terminated at shutdown');
    }
    // Sessions waiting for a resume end too: they live in memory only.
    for (const session of [...this.live.values()]) {
      session.end({ code: CloseCode.GoingAway, reason: 'server shutting down' });
    }
    this.opened$.complete();
  }
}

function emit<T>(subject: Subject<T>, value: T): void {
  subject.next(value);
}
