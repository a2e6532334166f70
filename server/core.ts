import { randomBytes, randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { Observable, Subject, Subscription, type ObservableInput } from 'rxjs';
import {
  CloseCode,
  ErrorCode,
  RxwireError,
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
import type {
  ClusterBinding,
  ClusterHost,
  DrainOptions,
  PresenceEntry,
  TakeoverResult,
} from './cluster.js';
import { Connection } from './connection.js';
import type {
  BinaryHandler,
  ConnectionHost,
  SessionSocket,
  UpgradeInfo,
} from './connection-types.js';
import { contained } from './contain.js';
import { payloadJson } from './frames.js';
import { importRecord } from './handover.js';
import type { ServerOptions } from './options.js';
import { resolveOptions, unkeyed, type ResolvedOptions } from './resolve-options.js';
import { PresenceView } from './presence.js';
import { Revocations, endSessionsOf, type RevokeClose } from './revoke.js';
import type { AnyHandler } from './requests.js';
import { assertSendable, type ServerSession, type Session } from './session.js';
import type { SessionClose, SessionRequest } from './session-types.js';

/**
 * Serves one request type: gets the request payload and its session, returns
 * what to stream back (an Observable, a Promise, an array, an async iterable).
 */
export type RequestHandler<P extends Protocol, U, K extends RequestType<P>> = (
  request: RequestOf<P, K>,
  session: Session<P, U>,
) => ObservableInput<ResponseOf<P, K>>;

/**
 * A broadcast filter. On a clustered server it also sees the other nodes'
 * sessions, as {@link RemoteSession} objects (`remote: true`): only `id`,
 * `user`, `nodeId` and `connected` are there.
 */
export type BroadcastFilter<P extends Protocol, U> = (session: Session<P, U>) => boolean;

/**
 * The transport-free heart of the server: sessions, request handlers,
 * broadcast, `sendTo`, presence, drain and shutdown. The ws glue feeds it
 * sockets through {@link open}; tests feed it plain objects. With a cluster,
 * what crosses nodes goes through the {@link ClusterBinding}; without one the
 * server is a cluster of one and nothing here touches the network.
 */
export class ServerCore<P extends Protocol = AnyProtocol, U = unknown>
  implements ConnectionHost, ClusterHost
{
  readonly options: ResolvedOptions;
  readonly handlers = new Map<string, AnyHandler>();
  readonly nextId = createIdGenerator();
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
  /** The cluster this server is a node of, or null (a single node). */
  readonly cluster: ClusterBinding | null;
  readonly nodeId: string;
  readonly resumeKey: Uint8Array;

  readonly sessions$: Observable<Session<P, U>>;
  private readonly live = new Map<string, ServerSession<P, U>>();
  private readonly connections = new Set<Connection>();
  private readonly opened$ = new Subject<Session<P, U>>();
  /**
   * This node's sessions as presence, without a cluster (the cluster keeps its
   * own). Made when presence is first read, so a server that never asks pays
   * nothing for it.
   */
  private localPresence: PresenceView | null = null;
  /** Users revoked lately (`disconnectUser`, here or on another node). */
  readonly revocations: Revocations;
  private shutdownPromise: Promise<void> | null = null;
  private drainPromise: Promise<void> | null = null;
  private drained: (() => void) | null = null;

  constructor(options: ServerOptions<P, U>) {
    this.options = resolveOptions(options as ServerOptions<Protocol, unknown>);
    this.authenticate = createAuthenticator<unknown>(options, this.options.logger);
    this.sessions$ = this.opened$.asObservable();
    // Kept past the recovery window: a parked session lives at most that long.
    this.revocations = new Revocations(this.options.recoveryWindow + 60_000);
    this.cluster = this.options.cluster?.bind(this) ?? null;
    this.nodeId = this.cluster?.nodeId ?? `node-${randomBytes(6).toString('hex')}`;
    this.resumeKey = this.cluster?.resumeKey ?? randomBytes(32);
  }

  /** Live sessions by id. */
  get sessions(): ReadonlyMap<string, Session<P, U>> {
    return this.live;
  }

  /** Open connections, including those still in the handshake. */
  get connectionCount(): number {
    return this.connections.size;
  }

  /** True from `drain()` on: new connections are refused. */
  get draining(): boolean {
    return this.drainPromise !== null || this.shutdownPromise !== null;
  }

  get presence$(): Observable<readonly PresenceEntry[]> {
    return this.cluster?.presence$ ?? this.ownPresence.changes$;
  }

  get presence(): readonly PresenceEntry[] {
    return this.cluster?.presence ?? this.ownPresence.snapshot;
  }

  private get ownPresence(): PresenceView {
    if (this.localPresence === null) {
      const view = (this.localPresence = new PresenceView());
      for (const session of this.live.values()) {
        view.set(presenceOf(session as unknown as ServerSession<never, unknown>, this.nodeId));
      }
      if (this.shutdownPromise !== null) view.close();
    }
    return this.localPresence;
  }

  /** Starts serving one socket. The caller forwards its frames to `receive` and its close to `closed`. */
  open(socket: SessionSocket, info: UpgradeInfo): Connection {
    const connection = new Connection(randomUUID(), socket, info, this);
    this.connections.add(connection);
    if (this.shutdownPromise) connection.close(CloseCode.GoingAway, 'server shutting down');
    else if (this.drainPromise) connection.close(CloseCode.ServiceRestart, 'server restarting');
    return connection;
  }

  opened(session: ServerSession<never, unknown>): void {
    const typed = session as unknown as ServerSession<P, U>;
    this.live.set(typed.id, typed);
    if (this.cluster !== null) this.cluster.opened(session);
    else this.localPresence?.set(presenceOf(session, this.nodeId));
    contained(typed, '$sessions', undefined, emit, this.opened$, typed);
  }

  session(id: string): ServerSession<never, unknown> | undefined {
    return this.live.get(id) as ServerSession<never, unknown> | undefined;
  }

  localSessions(): Iterable<ServerSession<never, unknown>> {
    return this.live.values() as Iterable<ServerSession<never, unknown>>;
  }

  connectionChanged(session: ServerSession<never, unknown>): void {
    if (this.live.get(session.id) !== (session as unknown)) return;
    if (this.cluster !== null) this.cluster.connectionChanged(session);
    else this.localPresence?.set(presenceOf(session, this.nodeId));
  }

  ended(session: ServerSession<never, unknown>, close: SessionClose): void {
    if (this.live.get(session.id) !== (session as unknown)) return;
    this.live.delete(session.id);
    if (this.cluster !== null) this.cluster.ended(session, close);
    else this.localPresence?.delete(session.id);
  }

  forward(sessionId: string, type: string, json: string): void {
    this.cluster?.sendTo(sessionId, type, json).catch((error: unknown) => {
      this.options.logger.warn('send to a session that moved away failed', {
        session: sessionId,
        type,
        error: String(error),
      });
    });
  }

  detach(connection: Connection): void {
    this.connections.delete(connection);
    if (this.connections.size === 0) this.drained?.();
  }

  /** A resuming client of a session another node holds (see Connection). */
  takeOver(sessionId: string, user: unknown, wanted: () => boolean): Promise<TakeoverResult> {
    return this.cluster!.takeOver(sessionId, user, wanted);
  }

  /**
   * Rebuilds a taken-over session here, without a connection yet: the
   * cluster replays what it missed (`result.adopt`). The caller attaches it,
   * then {@link announce}s it.
   */
  adopt(
    result: Extract<TakeoverResult, { kind: 'record' }>,
    request: SessionRequest,
  ): ServerSession<never, unknown> | null {
    const session = importRecord(result.record, null, this, request, result.from);
    result.adopt(session);
    if (!this.revocations.revoked(result.record.userKey, result.record.createdAt)) return session;
    // Its user was revoked (disconnectUser) after it started, while it was between
    // nodes: it ends here instead of being resumed, and the cluster forgets it
    // (it was never announced, so ending it does not reach `ended`).
    const close = { code: CloseCode.Forbidden, reason: 'session revoked' };
    session.end(close);
    this.cluster?.ended(session, close);
    this.options.logger.info('a revoked session was not resumed', { session: session.id });
    return null;
  }

  /** Another node revoked a user (`disconnectUser` there): end this node's sessions of it too. */
  revoked(userKey: string, at: number, close: RevokeClose): void {
    this.revocations.record(userKey, at);
    endSessionsOf(this, userKey, close);
  }

  adoptDetached(result: Extract<TakeoverResult, { kind: 'record' }>): void {
    const request: SessionRequest = { url: '', headers: {}, socket: undefined as never, ip: '' };
    const session = this.adopt(result, request);
    if (session !== null) this.park(session);
  }

  /** A moved-in session without a connection: it waits here for its client's resume. */
  park(session: ServerSession<never, unknown>): void {
    session.awaitResume();
    this.announce(session);
  }

  /** Makes a moved-in session live here: the cluster registers it, `sessions$` emits it. */
  announce(session: ServerSession<never, unknown>): void {
    if (session.state !== 'closed') this.opened(session);
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
    filter?: BroadcastFilter<P, U>,
  ): number {
    assertSendable(type);
    if (this.cluster !== null) {
      return this.cluster.broadcast(
        type,
        payloadJson(payload),
        filter as ((session: unknown) => boolean) | undefined,
      );
    }
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
   * Sends to one session wherever it lives: here (no network), or through
   * the cluster. Resolves once the message is part of the session's delivery.
   */
  sendTo<K extends ServerType<P>>(
    sessionId: string,
    type: K,
    payload: PayloadOf<P['server'], K>,
  ): Promise<void> {
    let json: string;
    try {
      assertSendable(type);
      if (typeof sessionId !== 'string') {
        throw new RxwireTypeError(ErrorCode.InvalidOption, 'sendTo needs a session id (a string)');
      }
      json = payloadJson(payload);
    } catch (error) {
      return Promise.reject(error as Error);
    }
    if (this.cluster !== null) return this.cluster.sendTo(sessionId, type, json);
    const session = this.live.get(sessionId);
    if (session === undefined || session.state !== 'open') {
      return Promise.reject(notFound(sessionId));
    }
    try {
      session.emit(type, json, undefined, false);
      return Promise.resolve();
    } catch (error) {
      return Promise.reject(error as Error);
    }
  }

  /**
   * Hands every session over and closes its connection with 1012: to the
   * other nodes through the cluster, or (a single node) by closing each
   * session once its requests finished or `requestTimeout` passed. The caller
   * (createServer) has already stopped taking connections. Idempotent.
   */
  drain(options: DrainOptions = {}): Promise<void> {
    const resolved: Required<DrainOptions> = {
      requestTimeout: nonNegative('requestTimeout', options.requestTimeout ?? 5_000),
      timeout: nonNegative('timeout', options.timeout ?? 30_000),
    };
    this.drainPromise ??=
      this.cluster !== null ? this.cluster.drain(resolved) : this.drainAlone(resolved);
    return this.drainPromise;
  }

  private async drainAlone(options: Required<DrainOptions>): Promise<void> {
    const { logger } = this.options;
    logger.info('draining: closing every session with 1012 once its requests finish', {
      sessions: this.live.size,
    });
    await Promise.all(
      [...this.live.values()].map(async (session) => {
        await session.requestsIdle(options.requestTimeout);
        session.close(CloseCode.ServiceRestart, 'server restarting');
      }),
    );
    await this.closeConnections(
      CloseCode.ServiceRestart,
      'server restarting',
      options.timeout,
      'terminated at drain',
    );
    logger.info('drained');
  }

  /**
   * Closes every connection with 1001, waits up to `shutdownTimeout` for them
   * to go, terminates the rest, and completes `sessions$`. Idempotent.
   */
  shutdown(): Promise<void> {
    this.shutdownPromise ??= this.closeAll();
    return this.shutdownPromise;
  }

  private async closeAll(): Promise<void> {
    await this.closeConnections(
      CloseCode.GoingAway,
      'server shutting down',
      this.options.shutdownTimeout,
      'terminated at shutdown',
    );
    // Sessions waiting for a resume end too: they live in memory only.
    for (const session of [...this.live.values()]) {
      session.end({ code: CloseCode.GoingAway, reason: 'server shutting down' });
    }
    this.opened$.complete();
    this.localPresence?.close();
    await this.cluster?.close();
  }

  /** Closes every connection, waits up to `timeoutMs` for them to go, terminates the rest. */
  private async closeConnections(
    code: number,
    reason: string,
    timeoutMs: number,
    terminated: string,
  ): Promise<void> {
    for (const connection of [...this.connections]) connection.close(code, reason);
    if (this.connections.size > 0) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      await new Promise<void>((resolve) => {
        this.drained = resolve;
        timer = setTimeout(resolve, timeoutMs);
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
      connection.closed(CloseCode.Abnormal, terminated);
    }
  }
}

function emit<T>(subject: Subject<T>, value: T): void {
  subject.next(value);
}

/** This node's presence entry for a local session. */
export function presenceOf(session: ServerSession<never, unknown>, nodeId: string): PresenceEntry {
  return {
    sessionId: session.id,
    userKey: unkeyed(session.userKey),
    nodeId,
    connected: session.connected,
  };
}

/** RXWIRE_SESSION_NOT_FOUND for `sendTo`. */
export function notFound(sessionId: string): RxwireError {
  return new RxwireError(ErrorCode.SessionNotFound, `no node has session ${sessionId}`);
}

function nonNegative(name: string, value: number): number {
  if (typeof value !== 'number' || !(value >= 0) || !Number.isFinite(value)) {
    throw new RxwireTypeError(
      ErrorCode.InvalidOption,
      `drain option \`${name}\` must be a non-negative number of ms (got ${String(value)})`,
    );
  }
  return value;
}
