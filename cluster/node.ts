// One server as a node of a cluster: its registration and heartbeat, its
// sessions' ownership and presence in the store, the cluster-wide directory,
// and the wiring of broadcasts (broadcast-log.ts), remote sends
// (remote-send.ts) and takeovers (takeover.ts). It also carries the node
// through store outages: local sessions keep working, what needs the store
// waits or fails with a typed error, and when the store is back (possibly
// empty) the node registers itself, its sessions and their presence again.
import { randomBytes } from 'node:crypto';
import type { Observable } from 'rxjs';
import { ErrorCode, RxwireError } from '../src/protocol/index.js';
import type {
  ClusterBinding,
  ClusterHost,
  ClusterStats,
  DrainOptions,
  PresenceEntry,
  TakeoverResult,
} from '../server/cluster.js';
import { notFound, presenceOf } from '../server/core.js';
import type { Logger } from '../server/logger.js';
import { userKeyOf } from '../server/resolve-options.js';
import type { ServerSession } from '../server/session.js';
import type { SessionClose } from '../server/session-types.js';
import { BroadcastLog, MAX_WAITING_BROADCASTS } from './broadcast-log.js';
import { Directory } from './directory.js';
import type { ClusterEngine } from './engine.js';
import { SessionRegistry } from './registry.js';
import type { ResolvedClusterOptions } from './options.js';
import { RemoteSends, asSend, type SentMessage } from './remote-send.js';
import { Takeovers, type Answer } from './takeover.js';

export class ClusterNode implements ClusterBinding {
  readonly nodeId: string;
  readonly resumeKey: Uint8Array;
  private readonly logger: Logger;
  private readonly directory = new Directory();
  private readonly log: BroadcastLog;
  private readonly remote: RemoteSends;
  private readonly takeovers: Takeovers;
  private readonly registry: SessionRegistry;
  /** This node registered with the store at least once. */
  private registered = false;
  private state: ClusterStats['state'] = 'connecting';
  private nodes: readonly string[] = [];
  private readonly counters = {
    handoversIn: 0,
    handoversOut: 0,
    remoteSends: 0,
    broadcasts: 0,
    redisErrors: 0,
  };
  private heartbeatTimer: ReturnType<typeof setInterval> | undefined;
  private started: Promise<void>;
  closed = false;
  private draining = false;
  private lastFailure = 0;

  constructor(
    private readonly host: ClusterHost,
    private readonly engine: ClusterEngine,
    private readonly options: ResolvedClusterOptions,
  ) {
    this.nodeId = options.nodeId;
    this.resumeKey = options.resumeKey;
    this.logger = host.options.logger;
    const failed = (what: string, error: unknown): void => this.failed(what, error);
    this.registry = new SessionRegistry(engine, host, this.nodeId, this.logger, failed);
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const node = this;
    this.log = new BroadcastLog({
      engine,
      nodeId: this.nodeId,
      incarnation: randomBytes(4).toString('hex'),
      history: options.broadcastHistory,
      logger: this.logger,
      localSessions: () => host.localSessions(),
      failed,
      appended: () => this.counters.broadcasts++,
    });
    this.remote = new RemoteSends({
      engine,
      nodeId: this.nodeId,
      sendTimeout: options.sendTimeout,
      logger: this.logger,
      session: (id) => host.session(id),
      failed,
      sentRemotely: () => this.counters.remoteSends++,
    });
    this.takeovers = new Takeovers({
      engine,
      nodeId: this.nodeId,
      handoverTimeout: options.handoverTimeout,
      get closing() {
        return node.closed;
      },
      logger: this.logger,
      log: this.log,
      remote: this.remote,
      recordTtl: Math.max(host.options.recoveryWindow, 1_000),
      userKey: (user) => userKeyOf(host.options, user),
      session: (id) => host.session(id),
      epochs: this.registry.epochs,
      adoptDetached: (result) => host.adoptDetached(result),
      failed,
      movedIn: () => this.counters.handoversIn++,
      movedOut: () => this.counters.handoversOut++,
      left: (sid) => this.left(sid),
      register: (session) => this.registry.register(session),
    });
    this.started = this.start();
  }

  get stats(): ClusterStats {
    return { nodeId: this.nodeId, state: this.state, nodes: this.nodes, ...this.counters };
  }

  get presence$(): Observable<readonly PresenceEntry[]> {
    return this.directory.view.changes$;
  }

  get presence(): readonly PresenceEntry[] {
    return this.directory.view.snapshot;
  }

  // --- lifecycle -------------------------------------------------------------

  private async start(): Promise<void> {
    const beat = Math.max(10, Math.floor(this.options.nodeTtl / 3));
    this.heartbeatTimer = setInterval(() => void this.heartbeat(), beat);
    this.heartbeatTimer.unref?.();
    for (let delay = 100; !this.closed; delay = Math.min(delay * 2, 2_000)) {
      try {
        await this.engine.start(this.nodeId, {
          direct: (message) => this.direct(message),
          presence: (changes) => this.directory.apply(changes),
          broadcast: (message) => this.log.receive(message),
          state: (up) => this.connection(up),
        });
        break;
      } catch (error) {
        this.failed('connect', error);
        await new Promise((resolve) => setTimeout(resolve, delay).unref?.());
      }
    }
    if (this.closed) return;
    await this.heartbeat();
    await this.log.init().catch((error: unknown) => this.failed('broadcast log', error));
    this.logger.info('cluster: node joined', { node: this.nodeId, nodes: this.nodes });
  }

  /** The store connection went down or came back. */
  private connection(up: boolean): void {
    if (this.closed) return;
    if (!up) {
      if (this.state !== 'down')
        this.logger.warn('cluster: lost the connection to the store', { node: this.nodeId });
      this.state = 'down';
      this.registry.needsRestore = true; // what we write meanwhile may be lost
      return;
    }
    this.logger.info('cluster: connected to the store again', { node: this.nodeId });
    void this.heartbeat();
  }

  /**
   * Beats, learns which nodes live, removes dead ones (the store does, in
   * the same step), and after an outage registers this node's sessions
   * again, resyncs presence and catches up on broadcasts.
   */
  private async heartbeat(): Promise<void> {
    if (this.closed) return;
    let beat;
    try {
      beat = await this.engine.heartbeat(
        this.nodeId,
        this.options.nodeTtl,
        this.options.nodeTtl,
        this.registered,
      );
    } catch (error) {
      this.failed('heartbeat', error);
      return;
    }
    const wasUp = this.state === 'up';
    this.state = 'up';
    if (beat.fresh && this.registered) {
      this.logger.warn(
        'cluster: the store had forgotten this node (restarted empty, or it was declared dead)',
        {
          node: this.nodeId,
        },
      );
    }
    this.registered = true;
    this.nodesChanged(beat.nodes);
    if (beat.reaped.length > 0) {
      this.logger.warn('cluster: nodes left without a goodbye; their sessions are gone', {
        nodes: beat.reaped,
      });
      this.directory.removeNodes(beat.reaped);
    }
    if (beat.fresh || this.registry.needsRestore || !wasUp) {
      this.registry.needsRestore = false;
      if (!(await this.registry.restore((session) => this.lostToAnother(session)))) return;
      try {
        const snapshot = await this.engine.presenceSnapshot();
        this.directory.reset(snapshot, (sid) => this.host.session(sid) !== undefined);
      } catch (error) {
        this.failed('presence snapshot', error);
        return;
      }
    }
    void this.registry.flush();
    void this.log.flush();
    void this.log.catchUp();
    this.remote.resume();
  }

  private nodesChanged(nodes: readonly string[]): void {
    const before = new Set(this.nodes);
    const after = new Set(nodes);
    for (const node of nodes)
      if (!before.has(node) && node !== this.nodeId && this.nodes.length > 0) {
        this.logger.info('cluster: node joined', { node });
      }
    for (const node of this.nodes)
      if (!after.has(node)) this.logger.info('cluster: node left', { node });
    this.nodes = Object.freeze([...nodes].sort());
  }

  /** Another node owns a session we still hold (it took it over while we were cut off). */
  private lostToAnother(session: ServerSession<never, unknown>): void {
    this.logger.warn('cluster: a session this node held was taken over elsewhere meanwhile', {
      session: session.id,
    });
    session.end({
      code: 4409,
      reason: 'the session continued on another node',
      moved: { to: null },
    });
  }

  // --- messages ----------------------------------------------------------------

  private direct(raw: string): void {
    let message: { op?: unknown; sid?: unknown };
    try {
      message = JSON.parse(raw) as { op?: unknown; sid?: unknown };
    } catch {
      return;
    }
    switch (message.op) {
      case 'takeover': {
        const { epoch } = message as { epoch?: unknown };
        if (typeof message.sid === 'string' && typeof epoch === 'number') {
          this.takeovers.requested(message.sid, epoch);
        }
        return;
      }
      case 'handed':
      case 'gone':
        this.takeovers.answered(message as Answer);
        return;
      case 'send': {
        const send = asSend(message);
        if (send !== null) this.remote.receive(send);
        return;
      }
      case 'sent':
      case 'retry':
        this.remote.answered(message as SentMessage);
        return;
      case 'revoke': {
        const { key, at, code, reason } = message as {
          key?: unknown;
          at?: unknown;
          code?: unknown;
          reason?: unknown;
        };
        if (
          typeof key === 'string' &&
          typeof at === 'number' &&
          typeof code === 'number' &&
          typeof reason === 'string'
        ) {
          this.host.revoked(key, at, { code, reason });
        }
        return;
      }
    }
  }

  /** Passes a revocation on to every other live node (see ClusterBinding.revoke). */
  revoke(userKey: string, at: number, close: { code: number; reason: string }): void {
    const message = JSON.stringify({ op: 'revoke', key: userKey, at, ...close });
    // The nodes the last heartbeat listed, and any node presence shows holding a session.
    const nodes = new Set(this.nodes);
    for (const entry of this.directory.view.snapshot) nodes.add(entry.nodeId);
    for (const node of nodes) {
      if (node === this.nodeId) continue;
      this.engine.publish(node, message).catch((error: unknown) => {
        this.logger.warn('cluster: a revocation did not reach a node', {
          node,
          error: String(error),
        });
      });
    }
  }

  // --- the server's side ------------------------------------------------------

  reserve(sessionId: string, user: unknown): Promise<void> {
    return this.registry.reserve(sessionId, user);
  }

  discard(sessionId: string): void {
    this.registry.discard(sessionId);
  }

  opened(session: ServerSession<never, unknown>): void {
    this.registry.opened(session);
    this.directory.setLocal(presenceOf(session, this.nodeId), session.user);
    if (this.draining) void this.takeovers.move(session, 1012, 'server restarting');
  }

  connectionChanged(session: ServerSession<never, unknown>): void {
    if (this.registry.connectionChanged(session)) {
      this.directory.setLocal(presenceOf(session, this.nodeId), session.user);
    }
  }

  ended(session: ServerSession<never, unknown>, close: SessionClose): void {
    if (close.moved !== undefined) return; // it lives on elsewhere; the store knows
    this.left(session.id);
    this.directory.remove(session.id);
    this.registry.ended(session.id);
  }

  takeOver(sessionId: string, user: unknown, wanted: () => boolean): Promise<TakeoverResult> {
    if (this.draining) return Promise.resolve({ kind: 'retry', reason: 'this node is draining' });
    return this.takeovers.takeOver(sessionId, user, wanted);
  }

  broadcast(
    type: string,
    json: string,
    filter: ((session: unknown) => boolean) | undefined,
  ): number {
    if (this.log.waiting >= MAX_WAITING_BROADCASTS) {
      throw new RxwireError(
        ErrorCode.ClusterUnavailable,
        `${MAX_WAITING_BROADCASTS} broadcasts are waiting for the cluster store; '${type}' not sent`,
      );
    }
    if (filter === undefined) {
      this.log.broadcast(type, json, null);
      return this.directory.view.size;
    }
    const ids: string[] = [];
    let threw = 0;
    const consider = (candidate: { id: string }): void => {
      try {
        if (filter(candidate)) ids.push(candidate.id);
      } catch {
        threw++;
      }
    };
    for (const session of this.host.localSessions())
      if (session.state === 'open') consider(session);
    for (const remote of this.directory.remote(this.nodeId)) consider(remote);
    if (threw > 0) {
      this.logger.warn('broadcast filter threw; those sessions were left out', {
        type,
        sessions: threw,
      });
    }
    this.log.broadcast(type, json, ids);
    return ids.length;
  }

  sendTo(sessionId: string, type: string, json: string): Promise<void> {
    const local = this.host.session(sessionId);
    if (local !== undefined && local.state === 'open' && !this.remote.busy(sessionId)) {
      try {
        local.emit(type, json, undefined, false);
        return Promise.resolve();
      } catch (error) {
        return Promise.reject(error as Error);
      }
    }
    if (this.closed) return Promise.reject(notFound(sessionId));
    return this.remote.send(sessionId, type, json);
  }

  async drain(options: Required<DrainOptions>): Promise<void> {
    this.draining = true;
    const deadline = Date.now() + options.timeout;
    this.logger.info('cluster: draining: handing every session to the other nodes', {
      node: this.nodeId,
      sessions: [...this.host.localSessions()].length,
    });
    await this.started;
    // Sessions still arriving (takeovers that began before the drain, handshakes
    // that were under way) are handed over too, as they come.
    const moves = (async () => {
      for (;;) {
        const open = [...this.host.localSessions()].filter((s) => s.state === 'open' && !s.moving);
        await Promise.all(
          open.map(async (session) => {
            await session.requestsIdle(options.requestTimeout);
            if (session.state === 'open' && !session.moving) {
              await this.takeovers.move(session, 1012, 'server restarting');
            }
          }),
        );
        await this.takeovers.settled();
        if (![...this.host.localSessions()].some((s) => s.state === 'open' && !s.moving)) return;
      }
    })();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), Math.max(0, deadline - Date.now()));
    });
    const outcome = await Promise.race([moves, timedOut]);
    clearTimeout(timer);
    if (outcome === 'timeout') {
      throw new RxwireError(
        ErrorCode.ClusterUnavailable,
        `drain: ${this.takeovers.inFlight} sessions could not be handed to the cluster within ${options.timeout} ms`,
      );
    }
    this.logger.info('cluster: drained', { node: this.nodeId });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.heartbeatTimer);
    this.remote.close();
    await this.registry.flush();
    await this.engine.leave(this.nodeId).catch((error: unknown) => this.failed('leave', error));
    await this.engine.stop().catch(() => undefined);
    this.directory.view.close();
    this.logger.info('cluster: node left', { node: this.nodeId });
  }

  // --- internals -------------------------------------------------------------

  private left(sid: string): void {
    this.registry.epochs.delete(sid);
    this.log.forget(sid);
    this.remote.forget(sid);
  }

  private failed(what: string, error: unknown): void {
    this.counters.redisErrors++;
    if (this.state === 'up') this.state = 'down';
    this.registry.needsRestore = true;
    const now = Date.now();
    if (now - this.lastFailure < 1_000) return; // one line per second during an outage
    this.lastFailure = now;
    this.logger.warn('cluster: a store command failed', {
      node: this.nodeId,
      what,
      error: error instanceof Error ? error.message : String(error),
    });
  }
}
