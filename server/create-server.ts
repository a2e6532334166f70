import {
  createServer as createHttpServer,
  type Server as HttpServer,
  type ServerResponse,
} from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Observable, Subscription } from 'rxjs';
import {
  ErrorCode,
  RxwireTypeError,
  type AnyProtocol,
  type PayloadOf,
  type Protocol,
  type RequestType,
  type ServerType,
} from '../src/protocol/index.js';
import type { ClusterStats, DrainOptions, PresenceEntry } from './cluster.js';
import { ServerCore, type RequestHandler } from './core.js';
import type { ServerOptions } from './options.js';
import type { Session } from './session.js';
import { attachHttpTransport } from './http-transport.js';
import { ConnectionLimits, type LimitStats } from './limits.js';
import { disconnectUser } from './revoke.js';
import { attachWebSocket } from './ws-adapter.js';

/** What {@link createServer} returns. */
export interface RxwireServer<P extends Protocol = AnyProtocol, U = unknown> {
  /** Each session once its `$hello` passed authentication (hot: late subscribers see later sessions only). Completes on `close()`. */
  readonly sessions$: Observable<Session<P, U>>;
  /** Live sessions by id; a session leaves it before its streams complete. */
  readonly sessions: ReadonlyMap<string, Session<P, U>>;
  /**
   * Serves a request type: each value the handler's Observable emits goes out
   * as `$next`, its completion as `$complete`, its error as `$error` (an
   * error's string `code` is forwarded, else RXWIRE_HANDLER_ERROR). A client
   * `$cancel` unsubscribes it. Unsubscribe the returned Subscription to unregister.
   */
  handle<K extends RequestType<P>>(type: K, handler: RequestHandler<P, U, K>): Subscription;
  /**
   * Sends one message to every live session (or those `filter` accepts), the
   * payload encoded once; sessions waiting for a resume get it when they
   * resume. Sessions over `maxUnacked` are skipped (and logged). Returns how
   * many got it.
   *
   * On a clustered server it reaches every session on every node exactly
   * once, in order with each session's other messages, including sessions
   * moving between nodes (they get it when they resume): it is appended to
   * the cluster's broadcast log, which every node (this one too) applies in
   * log order, so it arrives a moment later, also here. `filter` then runs
   * here, once per session of the cluster: on this node's sessions, and on
   * the other nodes' as `RemoteSession` objects (`remote: true`, with `id`,
   * `user`, `nodeId`, `connected`). It returns how many sessions it is
   * addressed to. While Redis is unreachable broadcasts wait (up to 10,000)
   * and go out when it is back.
   */
  broadcast<K extends ServerType<P>>(
    type: K,
    payload: PayloadOf<P['server'], K>,
    filter?: (session: Session<P, U>) => boolean,
  ): number;
  /**
   * Sends one message to one session, wherever it lives: on this node at
   * once (no network), on another node of the cluster through Redis. Resolves
   * once the message is part of the session's delivery: from then on it
   * reaches the client exactly once and in order, even if the session moves.
   * Rejects with RXWIRE_SESSION_NOT_FOUND when no node has the session,
   * `QueueFullError` over the session's `maxUnacked`, and
   * RXWIRE_CLUSTER_UNAVAILABLE when Redis stays unreachable for the cluster's
   * `sendTimeout`.
   *
   * @example
   * ```ts
   * await server.sendTo(order.sessionId, 'order_status', { id: order.id, status: 'shipped' });
   * ```
   */
  sendTo<K extends ServerType<P>>(
    sessionId: string,
    type: K,
    payload: PayloadOf<P['server'], K>,
  ): Promise<void>;
  /** This node's id: the cluster's `nodeId` option, or a random one. */
  readonly nodeId: string;
  /**
   * The live sessions (connected, or waiting for a resume) as
   * `{sessionId, userKey, nodeId, connected}`: this node's, or on a clustered
   * server every node's. The current snapshot at once, then a new one after
   * each turn of the event loop with changes. A dead node's sessions leave
   * within the cluster's `nodeTtl`. Completes on `close()`.
   *
   * @example
   * ```ts
   * server.presence$.subscribe((all) => metrics.gauge('sessions', all.length));
   * ```
   */
  readonly presence$: Observable<readonly PresenceEntry[]>;
  /** The current `presence$` snapshot. */
  readonly presence: readonly PresenceEntry[];
  /** Counters and state of the cluster (see `ClusterStats`), or null without `cluster`. */
  readonly cluster: ClusterStats | null;
  /**
   * For rolling deploys. Stops taking connections (upgrades get HTTP 503, so
   * a load balancer or the client's next attempt goes elsewhere), lets
   * request streams finish for up to `requestTimeout`, then hands every
   * session over and closes its connection with 1012; clients reconnect
   * (with backoff) and resume where they land. On a clustered server every
   * session's state is written to Redis first, so another node resumes it
   * with nothing lost or repeated; it resolves once all are. Without a
   * cluster sessions cannot move: they end (their clients get new sessions,
   * as after a restart) and it resolves once every connection closed.
   * Idempotent; `close()` after it frees the port.
   *
   * @example
   * ```ts
   * process.on('SIGTERM', async () => {
   *   await server.drain();
   *   await server.close();
   *   process.exit(0);
   * });
   * ```
   */
  drain(options?: DrainOptions): Promise<void>;
  /**
   * Stops taking connections, closes every session with 1001, waits up to
   * `shutdownTimeout` (then terminates), completes `sessions$`, and, when rxwire
   * created the http server (`port`), closes it and frees the port. An attached
   * server (`server`) keeps serving HTTP until you close it. A clustered
   * server drains first (see `drain()`), so its sessions move to other nodes,
   * then leaves the cluster.
   */
  close(): Promise<void>;
  /** The http(s) server the WebSocket endpoint lives on (yours, or the one made for `port`). */
  readonly httpServer: HttpServer | HttpsServer;
  /** Resolves with the address once the http server listens (rejects if `port` could not be bound). */
  ready(): Promise<AddressInfo>;
  /**
   * What the connection limits count, now: open connections, handshakes in
   * progress, distinct client addresses, and connections refused (HTTP 503)
   * by `maxConnections`, `maxConnectionsPerIp` and `maxHandshakes`.
   */
  readonly limits: LimitStats;
  /**
   * Ends every session of one user, on this server and, on a cluster, on
   * every node: those connected (their connection is closed with `code`) and
   * those waiting for a resume. A session that is between nodes (parked by a
   * drain) is not resumed either: every node remembers the revocation for
   * the recovery window. Each
   * session ends at once (`closed$` emits `{code, reason}`, it leaves
   * `sessions`), so none can be resumed: a resume attempt finds no session
   * and gets a new one, if `authenticate` still lets the user in.
   *
   * `userKey` is what the `userKey` option computes (by default the JWT
   * `sub`, or the user's `id`). The default close, 4403 `session revoked`,
   * makes rxwire clients stop instead of reconnecting with the same
   * credentials; pass 4401 to have them fetch a fresh token and reconnect
   * once (after a permission change, for example). To keep a user out,
   * also make `authenticate` refuse their tokens: revoking ends sessions, it
   * does not invalidate tokens.
   *
   * Resolves with how many sessions it ended on this node (other nodes end
   * theirs as the revocation reaches them). Rejects with an
   * `RxwireTypeError` (RXWIRE_INVALID_OPTION) when `userKey` is not a
   * string or `code` is not a valid close code.
   *
   * @example
   * ```ts
   * app.post('/admin/users/:id/ban', async (req, res) => {
   *   banned.add(req.params.id); // and authenticate refuses banned users
   *   const ended = await server.disconnectUser(req.params.id);
   *   res.json({ ended });
   * });
   * ```
   */
  disconnectUser(userKey: string, code?: number, reason?: string): Promise<number>;
}

/**
 * Creates an rxwire server: WebSocket sessions as an Observable, typed
 * per-session streams, request streams, auth, liveness and graceful shutdown.
 *
 * @example
 * ```ts
 * const app = express();
 * const http = app.listen(3001);
 * const server = createServer<ChatProtocol>({ server: http, jwt: { secret } });
 * server.handle('chat', ({ text }) => llm.stream(text).pipe(map((token) => ({ token }))));
 * server.sessions$
 *   .pipe(mergeMap((session) => session.on('typing')))
 *   .subscribe(({ on }) => server.broadcast('presence', { typing: on }));
 * ```
 */
export function createServer<P extends Protocol = AnyProtocol, U = unknown>(
  options: ServerOptions<P, U>,
): RxwireServer<P, U> {
  if ((options.server === undefined) === (options.port === undefined)) {
    throw new RxwireTypeError(
      ErrorCode.InvalidOption,
      'createServer needs exactly one of `server` (an http/https server to share) and `port`',
    );
  }
  const core = new ServerCore<P, U>(options);
  const { logger } = core.options;
  const ownsServer = options.server === undefined;
  const httpServer: HttpServer | HttpsServer = options.server ?? createHttpServer(upgradeRequired);
  const limits = new ConnectionLimits(core.options.limits, logger);
  const ws = attachWebSocket(httpServer, core, ownsServer, limits);
  const http = core.options.fallback ? attachHttpTransport(httpServer, core, limits) : null;

  let listening: Promise<AddressInfo>;
  if (ownsServer) {
    httpServer.on('error', (error) => logger.error('http server error', { error: error.message }));
    listening = new Promise<AddressInfo>((resolve, reject) => {
      httpServer.once('error', reject);
      const done = (): void => {
        httpServer.off('error', reject);
        resolve(httpServer.address() as AddressInfo);
      };
      if (options.host === undefined) httpServer.listen(options.port, done);
      else httpServer.listen(options.port, options.host, done);
    });
    // The rejection is for ready(); nobody asking must not crash the process.
    listening.catch(() => undefined);
  } else {
    listening = new Promise<AddressInfo>((resolve) => {
      if (httpServer.listening) resolve(httpServer.address() as AddressInfo);
      else httpServer.once('listening', () => resolve(httpServer.address() as AddressInfo));
    });
  }

  let closing: Promise<void> | null = null;
  const drain = (drainOptions?: DrainOptions): Promise<void> => {
    ws.refuse();
    http?.stopAccepting();
    return core.drain(drainOptions);
  };
  const close = async (): Promise<void> => {
    if (core.cluster !== null) {
      // Sessions move to the other nodes instead of ending.
      await drain().catch((error: unknown) =>
        logger.error('drain before close failed; the sessions left end here', {
          error: String(error),
        }),
      );
    }
    ws.stopAccepting();
    http?.stopAccepting();
    const httpClosed = ownsServer
      ? new Promise<void>((resolve) => httpServer.close(() => resolve()))
      : Promise.resolve();
    await core.shutdown();
    ws.dispose();
    http?.dispose();
    limits.flush();
    if (ownsServer) {
      httpServer.closeAllConnections();
      await httpClosed;
    }
    logger.info('server closed');
  };

  return {
    sessions$: core.sessions$,
    get sessions() {
      return core.sessions;
    },
    handle: (type, handler) => core.handle(type, handler),
    broadcast: (type, payload, filter) => core.broadcast(type, payload, filter),
    sendTo: (sessionId, type, payload) => core.sendTo(sessionId, type, payload),
    nodeId: core.nodeId,
    get presence$() {
      return core.presence$;
    },
    get presence() {
      return core.presence;
    },
    get cluster() {
      return core.cluster?.stats ?? null;
    },
    drain,
    close: () => (closing ??= close()),
    httpServer,
    ready: () => listening,
    get limits() {
      return limits.stats;
    },
    disconnectUser: (userKey, code, reason) => disconnectUser(core, userKey, code, reason),
  };
}

function upgradeRequired(_request: unknown, response: ServerResponse): void {
  response.writeHead(426, { 'Content-Type': 'text/plain', Connection: 'close' });
  response.end('Upgrade Required: this endpoint speaks WebSocket (rxwire)');
}
