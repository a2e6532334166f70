// The cluster store on Redis 7 with node-redis: two connections per node (one
// for commands, one subscribed to this node's channel, broadcasts and
// presence), every operation one Lua script (scripts.ts) run with EVALSHA
// (EVAL when Redis does not have it yet, as after a restart). Commands fail
// fast while Redis is unreachable (no offline queue): the cluster logic
// decides what waits and what fails. Zero commands per message in the steady
// state: the server core never calls this for a message to a local session.
import { createHash, randomBytes } from 'node:crypto';
import type { Logger } from '../server/logger.js';
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
import * as lua from './scripts.js';

/**
 * The node-redis client calls the engine makes. A client from `redis` (v5
 * or v6) `createClient()` fits; the engine `duplicate()`s it for pub/sub.
 */
export interface RedisClientLike {
  readonly isOpen: boolean;
  readonly isReady: boolean;
  connect(): Promise<unknown>;
  duplicate(): RedisClientLike;
  sendCommand(args: string[]): Promise<unknown>;
  subscribe(
    channels: string[],
    listener: (message: string, channel: string) => void,
  ): Promise<unknown>;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  on(event: string, listener: (...args: any[]) => void): unknown;
  destroy(): void;
}

/** Where the engine gets its connections: a URL (it makes and owns them) or your client. */
export type RedisSource = { url: string } | { client: RedisClientLike };

/** A command that has not answered after this long counts as failed (the store may still apply it). */
const COMMAND_TIMEOUT_MS = 5_000;

interface Script {
  source: string;
  sha: string;
}

function script(source: string): Script {
  return { source, sha: createHash('sha1').update(source).digest('hex') };
}

const SCRIPTS = {
  heartbeat: script(lua.HEARTBEAT),
  sessions: script(lua.SESSIONS),
  claim: script(lua.CLAIM),
  park: script(lua.PARK),
  accept: script(lua.ACCEPT),
  cancel: script(lua.CANCEL),
  release: script(lua.RELEASE),
  send: script(lua.SEND),
  broadcast: script(lua.BROADCAST),
  read: script(lua.READ),
  presence: script(lua.PRESENCE),
  leave: script(lua.LEAVE),
};

export class RedisEngine implements ClusterEngine {
  private commands: RedisClientLike | undefined;
  private subscriber: RedisClientLike | undefined;
  private events: EngineEvents | undefined;
  private reportedUp = false;
  private stopped = false;
  /** Subscribed: only then may commands run (an answer to one could otherwise be missed). */
  private started = false;

  constructor(
    private readonly source: RedisSource,
    private readonly prefix: string,
    private readonly logger: Logger,
  ) {}

  get up(): boolean {
    return this.started && (this.commands?.isReady ?? false) && (this.subscriber?.isReady ?? false);
  }

  /**
   * Connects both clients and subscribes. The node retries it until it
   * succeeds, so every step runs once however often it is called: each
   * client is watched once when made, and the subscription is made once.
   */
  async start(nodeId: string, events: EngineEvents): Promise<void> {
    this.events = events;
    if (this.commands === undefined) {
      this.commands = await this.makeCommands();
      this.watch(this.commands, 'commands');
    }
    if (!this.commands.isOpen) await this.commands.connect();
    if (this.subscriber === undefined) {
      this.subscriber = this.commands.duplicate();
      this.watch(this.subscriber, 'subscriber');
    }
    const subscriber = this.subscriber;
    if (!subscriber.isOpen) await subscriber.connect();
    if (!this.started) {
      const bc = `${this.prefix}:bc`;
      const presence = `${this.prefix}:presence`;
      await subscriber.subscribe(
        [`${this.prefix}:to:${nodeId}`, bc, presence],
        (message, channel) => {
          if (this.stopped) return;
          if (channel === bc) events.broadcast(message);
          else if (channel === presence) events.presence(parsePresence(message));
          else events.direct(message);
        },
      );
      this.reportedUp = true;
      this.started = true;
    }
    // Load every script now, so the first use of each costs one EVALSHA. Not
    // needed to start: `run` falls back to EVAL when Redis does not know one
    // (as after a restart).
    await Promise.all(
      Object.values(SCRIPTS).map((s) =>
        this.command(['SCRIPT', 'LOAD', s.source]).catch(() => undefined),
      ),
    );
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.subscriber?.destroy();
    if ('url' in this.source) this.commands?.destroy();
  }

  async heartbeat(
    nodeId: string,
    ttlMs: number,
    settleMs: number,
    known: boolean,
  ): Promise<HeartbeatResult> {
    const [fresh, reaped, nodes] = (await this.run(
      SCRIPTS.heartbeat,
      nodeId,
      ttlMs,
      settleMs,
      known ? 1 : 0,
    )) as [number, string[], string[]];
    return { fresh: fresh === 1, reaped, nodes };
  }

  async sessions(nodeId: string, ops: readonly SessionOp[]): Promise<Array<'ok' | 'lost'>> {
    if (ops.length === 0) return [];
    const args: Array<string | number> = [nodeId];
    for (const op of ops) {
      switch (op.op) {
        case 'open':
          args.push('open', op.sid, op.userKey, op.entry, '');
          break;
        case 'conn':
          args.push('conn', op.sid, op.entry, '', '');
          break;
        case 'end':
          args.push('end', op.sid, '', '', '');
          break;
        case 'restore':
          args.push('restore', op.sid, op.epoch, op.userKey, op.entry);
          break;
      }
    }
    return (await this.run(SCRIPTS.sessions, ...args)) as Array<'ok' | 'lost'>;
  }

  async claim(nodeId: string, claims: readonly SessionClaim[]): Promise<ClaimResult[]> {
    const args: string[] = [nodeId];
    for (const { sid, userKey } of claims) args.push(sid, userKey);
    const replies = (await this.run(SCRIPTS.claim, ...args)) as unknown[][];
    return replies.map(claimResult);
  }

  async accept(nodeId: string, sid: string, epoch: number): Promise<boolean> {
    const reply = (await this.run(SCRIPTS.accept, nodeId, sid, epoch)) as string[];
    return reply[0] === 'ok';
  }

  async cancel(
    nodeId: string,
    sid: string,
    epoch: number,
  ): Promise<'cancelled' | 'coming' | 'gone'> {
    const reply = (await this.run(SCRIPTS.cancel, nodeId, sid, epoch)) as string[];
    return reply[0] as 'cancelled' | 'coming' | 'gone';
  }

  async park(nodeId: string, sid: string, record: string, ttlMs: number): Promise<ParkResult> {
    const reply = (await this.run(SCRIPTS.park, nodeId, sid, record, Math.ceil(ttlMs))) as string[];
    if (reply[0] === 'handed') return { kind: 'handed', to: String(reply[1]) };
    if (reply[0] === 'missing') return { kind: 'missing' };
    return reply[0] === 'parked' ? { kind: 'parked' } : { kind: 'fenced' };
  }

  async release(nodeId: string, sid: string): Promise<{ epoch: number; record: string } | null> {
    const reply = (await this.run(SCRIPTS.release, nodeId, sid)) as unknown[];
    return reply[0] === 'record' ? { epoch: Number(reply[1]), record: String(reply[2]) } : null;
  }

  async dropRecord(sid: string): Promise<void> {
    await this.command(['DEL', `${this.prefix}:rec:${sid}`]);
  }

  async send(nodeId: string, sid: string, message: string): Promise<SendResult> {
    const reply = (await this.run(SCRIPTS.send, sid, message, nodeId)) as unknown[];
    if (reply[0] === 'published') return { kind: 'published', owner: String(reply[1]) };
    if (reply[0] === 'queued') return { kind: 'queued' };
    return { kind: 'missing', settling: reply[1] === 1 };
  }

  async publish(nodeId: string, message: string): Promise<void> {
    await this.command(['PUBLISH', `${this.prefix}:to:${nodeId}`, message]);
  }

  async appendBroadcasts(
    origin: string,
    incarnation: string,
    entries: readonly BroadcastAppend[],
    maxLen: number,
  ): Promise<number> {
    const args: Array<string | number> = [origin, incarnation, maxLen, newEpoch()];
    for (const entry of entries) args.push(entry.n, entry.header, entry.json);
    const reply = (await this.run(SCRIPTS.broadcast, ...args)) as unknown[];
    return Number(reply[1]);
  }

  async readBroadcasts(after: number, count: number): Promise<BroadcastRead> {
    const [epoch, top, flat] = (await this.run(SCRIPTS.read, after, count, newEpoch())) as [
      string,
      number,
      string[],
    ];
    const entries: BroadcastRead['entries'] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) {
      entries.push({ offset: Number(flat[i]), message: String(flat[i + 1]) });
    }
    return { epoch: String(epoch), top: Number(top), entries };
  }

  async presenceSnapshot(): Promise<Array<[string, string]>> {
    const flat = (await this.run(SCRIPTS.presence)) as string[];
    const out: Array<[string, string]> = [];
    for (let i = 0; i + 1 < flat.length; i += 2) out.push([String(flat[i]), String(flat[i + 1])]);
    return out;
  }

  async leave(nodeId: string): Promise<void> {
    await this.run(SCRIPTS.leave, nodeId);
  }

  // --- internals -----------------------------------------------------------

  private async makeCommands(): Promise<RedisClientLike> {
    if ('client' in this.source) return this.source.client;
    let redis: { createClient(options: object): RedisClientLike };
    try {
      redis = (await loadRedis()) as typeof redis;
    } catch (error) {
      throw new Error(
        `rxwire/cluster: redisCluster needs the \`redis\` package (npm install redis): ${String(error)}`,
      );
    }
    return redis.createClient({
      url: this.source.url,
      disableOfflineQueue: true,
      // Back quickly after an outage: a node's sessions wait on it.
      socket: { reconnectStrategy: (retries: number) => Math.min(50 * 2 ** retries, 1_000) },
    });
  }

  /** Reports the connection state: up only while both connections are ready. */
  private watch(client: RedisClientLike, role: string): void {
    client.on('error', (error: Error) => {
      this.logger.debug('cluster: redis connection error', { role, error: error.message });
      this.changed();
    });
    client.on('end', () => this.changed());
    client.on('ready', () => this.changed());
  }

  private changed(): void {
    if (this.stopped || this.events === undefined || this.subscriber === undefined) return;
    const up = this.up;
    if (up === this.reportedUp) return;
    this.reportedUp = up;
    this.events.state(up);
  }

  /** Runs a script by its SHA, loading it (EVAL) when Redis does not know it. */
  private async run(s: Script, ...args: Array<string | number>): Promise<unknown> {
    const argv = [this.prefix, ...args.map(String)];
    try {
      return await this.command(['EVALSHA', s.sha, '0', ...argv]);
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
      return this.command(['EVAL', s.source, '0', ...argv]);
    }
  }

  private command(args: string[]): Promise<unknown> {
    const commands = this.commands;
    if (commands === undefined || !this.up) {
      return Promise.reject(new Error('redis is not connected'));
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    return Promise.race([
      commands.sendCommand(args),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`redis did not answer within ${COMMAND_TIMEOUT_MS} ms`)),
          COMMAND_TIMEOUT_MS,
        );
      }),
    ]).finally(() => clearTimeout(timer));
  }
}

/** One claim's reply from the claim script. */
function claimResult(reply: unknown[]): ClaimResult {
  switch (reply[0]) {
    case 'unknown':
      return { kind: 'unknown', settling: reply[1] === 1 };
    case 'forbidden':
      return { kind: 'forbidden' };
    case 'lost':
      return { kind: 'lost' };
    case 'busy':
      return { kind: 'busy' };
    case 'taken':
      return {
        kind: 'taken',
        epoch: Number(reply[1]),
        record: String(reply[2]),
        inbox: (reply[3] as string[]).map(String),
      };
    default:
      return { kind: 'asked', epoch: Number(reply[1]), owner: String(reply[2]) };
  }
}

/** A presence message: `sid\tvalue` lines, an empty value for a removal. */
function parsePresence(message: string): Array<readonly [string, string | null]> {
  const changes: Array<readonly [string, string | null]> = [];
  for (const line of message.split('\n')) {
    const tab = line.indexOf('\t');
    if (tab <= 0) continue;
    const value = line.slice(tab + 1);
    changes.push([line.slice(0, tab), value === '' ? null : value]);
  }
  return changes;
}

/**
 * Loads `redis` only when a Redis cluster connects, so `rxwire/cluster`
 * (and `memoryCluster`) works without it: `require` in the CommonJS build,
 * `import()` in the ES module build.
 */
async function loadRedis(): Promise<unknown> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  if (typeof require === 'function') return require('redis') as unknown;
  return import('redis');
}

function newEpoch(): string {
  return randomBytes(6).toString('hex');
}
