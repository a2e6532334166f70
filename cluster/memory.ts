// `memoryCluster()`: a cluster whose store is a MemoryHub in this process.
import type { Cluster } from '../server/cluster.js';
import { ErrorCode, RxwireTypeError } from '../src/protocol/index.js';
import type {
  BroadcastAppend,
  BroadcastRead,
  ClaimResult,
  ClusterEngine,
  EngineEvents,
  HeartbeatResult,
  ParkResult,
  SendResult,
  SessionClaim,
  SessionOp,
} from './engine.js';
import { MemoryHub } from './memory-engine.js';
import { ClusterNode } from './node.js';
import { bindOnce, resolveClusterOptions, secretBytes, type ClusterOptions } from './options.js';

/** Options of {@link memoryCluster}. */
export interface MemoryClusterOptions extends ClusterOptions {
  /**
   * The shared state: the same hub for every server of the cluster. Give
   * each test its own (`new MemoryHub()`) to keep tests apart.
   * @default one hub shared by every memoryCluster() of the process
   */
  hub?: MemoryHub;
  /**
   * The shared secret resume tokens derive from (at least 32 bytes).
   * @default the hub's own random secret
   */
  secret?: string | Uint8Array;
}

/** The hub of every memoryCluster() that names none. */
let defaultHub: MemoryHub | undefined;

/**
 * A cluster in one process, for tests: several servers given the same
 * {@link MemoryHub} behave as nodes of one cluster (sessions move between
 * them, `broadcast`, `sendTo` and `presence` span them), exactly as with
 * `redisCluster`, without Redis. The hub can play an outage and an empty restart.
 *
 * @example
 * ```ts
 * const hub = new MemoryHub();
 * const a = createServer({ port: 0, cluster: memoryCluster({ hub, nodeId: 'a' }) });
 * const b = createServer({ port: 0, cluster: memoryCluster({ hub, nodeId: 'b' }) });
 * await b.sendTo(sessionOnA, 'notice', { text: 'hi' });
 * ```
 */
export function memoryCluster(options: MemoryClusterOptions = {}): Cluster {
  if (typeof options !== 'object' || options === null) {
    throw new RxwireTypeError(ErrorCode.InvalidOption, 'memoryCluster options must be an object');
  }
  if (options.hub !== undefined && !(options.hub instanceof MemoryHub)) {
    throw new RxwireTypeError(
      ErrorCode.InvalidOption,
      '`hub` must be a MemoryHub (new MemoryHub()) shared by every server of the cluster',
    );
  }
  const hub = options.hub ?? (defaultHub ??= new MemoryHub());
  const secret = options.secret === undefined ? hub.secret : secretBytes(options.secret);
  const resolved = resolveClusterOptions(options, secret);
  return bindOnce(
    'memoryCluster',
    (host) => new ClusterNode(host, new MemoryEngine(hub), resolved),
  );
}

/** One node's view of a {@link MemoryHub}: the {@link ClusterEngine} a memory cluster runs on. */
class MemoryEngine implements ClusterEngine {
  private nodeId: string | undefined;

  constructor(private readonly hub: MemoryHub) {}

  get up(): boolean {
    return this.hub.isUp && !this.dead;
  }

  private get dead(): boolean {
    return this.nodeId !== undefined && this.hub.isCrashed(this.nodeId);
  }

  /** A crashed node's process is gone: nothing it does reaches the hub. */
  private alive(): void {
    if (this.dead) throw new Error('this node crashed');
  }

  async start(nodeId: string, events: EngineEvents): Promise<void> {
    this.nodeId = nodeId;
    this.hub.attach(nodeId, events);
  }

  async stop(): Promise<void> {
    if (this.nodeId !== undefined) this.hub.detach(this.nodeId);
  }

  async heartbeat(
    nodeId: string,
    ttlMs: number,
    settleMs: number,
    known: boolean,
  ): Promise<HeartbeatResult> {
    this.alive();
    return this.hub.heartbeat(nodeId, ttlMs, settleMs, known);
  }

  async sessions(nodeId: string, ops: readonly SessionOp[]): Promise<Array<'ok' | 'lost'>> {
    this.alive();
    return this.hub.sessions(nodeId, ops);
  }

  async claim(nodeId: string, claims: readonly SessionClaim[]): Promise<ClaimResult[]> {
    this.alive();
    return claims.map(({ sid, userKey }) => this.hub.claim(nodeId, sid, userKey));
  }

  async accept(nodeId: string, sid: string, epoch: number): Promise<boolean> {
    this.alive();
    return this.hub.accept(nodeId, sid, epoch);
  }

  async cancel(
    nodeId: string,
    sid: string,
    epoch: number,
  ): Promise<'cancelled' | 'coming' | 'gone'> {
    this.alive();
    return this.hub.cancel(nodeId, sid, epoch);
  }

  async park(nodeId: string, sid: string, record: string, ttlMs: number): Promise<ParkResult> {
    this.alive();
    return this.hub.park(nodeId, sid, record, ttlMs);
  }

  async release(nodeId: string, sid: string): Promise<{ epoch: number; record: string } | null> {
    this.alive();
    return this.hub.release(nodeId, sid);
  }

  async dropRecord(sid: string): Promise<void> {
    this.alive();
    this.hub.dropRecord(sid);
  }

  async send(nodeId: string, sid: string, message: string): Promise<SendResult> {
    this.alive();
    return this.hub.send(nodeId, sid, message);
  }

  async publish(nodeId: string, message: string): Promise<void> {
    this.alive();
    this.hub.publish(nodeId, message);
  }

  async appendBroadcasts(
    origin: string,
    incarnation: string,
    entries: readonly BroadcastAppend[],
    maxLen: number,
  ): Promise<number> {
    this.alive();
    return this.hub.appendBroadcasts(origin, incarnation, entries, maxLen);
  }

  async readBroadcasts(after: number, count: number): Promise<BroadcastRead> {
    this.alive();
    return this.hub.readBroadcasts(after, count);
  }

  async presenceSnapshot(): Promise<Array<[string, string]>> {
    this.alive();
    return this.hub.presenceSnapshot();
  }

  async leave(nodeId: string): Promise<void> {
    this.alive();
    this.hub.leave(nodeId);
  }
}
