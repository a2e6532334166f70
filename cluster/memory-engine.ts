// The cluster store in process memory: the same operations and messages as
// the Redis engine, on maps, so several servers in one process form a
// cluster without Redis. For tests of cluster logic (yours and ours): the hub
// can also play an outage (`down()`/`up()`) and a restart that loses
// everything (`restart()`), as Redis without persistence does.
import type {
  BroadcastAppend,
  BroadcastRead,
  ClaimResult,
  EngineEvents,
  HeartbeatResult,
  ParkResult,
  SendResult,
  SessionOp,
} from './engine.js';

interface Ownership {
  /** Owner node ('' while parked). */
  o: string;
  /** Fencing epoch: bumped by every claim and park. */
  e: number;
  st: 'live' | 'claiming' | 'handing' | 'parked';
  /** Claimant, while claiming. */
  c: string;
  /** userKey of the session's user. */
  u: string;
  /** Expiry (ms since the epoch) while parked. */
  until: number | undefined;
}

/** A value with an expiry, as Redis keeps one with PX. */
interface Expiring<T> {
  value: T;
  until: number;
}

/**
 * The shared state of an in-memory cluster: create one per test and pass it
 * to `memoryCluster({ hub })` for every server of the cluster.
 *
 * @example
 * ```ts
 * const hub = new MemoryHub();
 * const a = createServer({ port: 0, cluster: memoryCluster({ hub, nodeId: 'a' }) });
 * const b = createServer({ port: 0, cluster: memoryCluster({ hub, nodeId: 'b' }) });
 * hub.down(); // an outage: every operation fails, messages are lost, until hub.up()
 * ```
 */
export class MemoryHub {
  /** Resume tokens verify on every node of the hub (in memory there is no shared secret to configure). */
  readonly secret = crypto.getRandomValues(new Uint8Array(32));
  private available = true;
  private nodes = new Map<string, number>();
  private nodeSessions = new Map<string, Set<string>>();
  private owners = new Map<string, Ownership>();
  private records = new Map<string, Expiring<string>>();
  private inboxes = new Map<string, Expiring<string[]>>();
  private presence = new Map<string, string>();
  /** Parked sessions and when their record expires (their presence goes then). */
  private parked = new Map<string, number>();
  private log: Array<{ offset: number; message: string }> = [];
  private logMeta: {
    epoch: string;
    offset: number;
    origins: Map<string, [string, number]>;
  } | null = null;
  private readonly subscribers = new Map<string, EngineEvents>();
  private readonly crashed = new Set<string>();
  /** Until when unknown sessions may still be registered again (after a restart). */
  private settleUntil = 0;

  /** True while the hub answers (between `down()` and `up()` it does not). */
  get isUp(): boolean {
    return this.available;
  }

  /** Starts an outage: every operation rejects and messages are dropped until {@link up}. */
  down(): void {
    if (!this.available) return;
    this.available = false;
    for (const events of this.subscribers.values()) later(() => events.state(false));
  }

  /** Ends an outage. */
  up(): void {
    if (this.available) return;
    this.available = true;
    for (const events of this.subscribers.values()) later(() => events.state(true));
  }

  /**
   * A node dies without a goodbye (`kill -9`): it hears nothing more and
   * none of its operations reach the hub; its registration expires after
   * its `nodeTtl`, and the next heartbeat of another node removes its sessions.
   */
  crash(nodeId: string): void {
    this.crashed.add(nodeId);
    this.subscribers.delete(nodeId);
  }

  /** @internal */
  isCrashed(nodeId: string): boolean {
    return this.crashed.has(nodeId);
  }

  /** An outage during which every key is lost, as a Redis restart without persistence. */
  restart(): void {
    this.down();
    this.nodes = new Map();
    this.nodeSessions = new Map();
    this.owners = new Map();
    this.records = new Map();
    this.inboxes = new Map();
    this.presence = new Map();
    this.parked = new Map();
    this.log = [];
    this.logMeta = null;
    this.settleUntil = 0;
    this.up();
  }

  // --- what MemoryEngine calls (each method is one atomic operation) ------

  /** @internal */
  attach(nodeId: string, events: EngineEvents): void {
    this.check();
    if (!this.crashed.has(nodeId)) this.subscribers.set(nodeId, events);
  }

  /** @internal */
  detach(nodeId: string): void {
    this.subscribers.delete(nodeId);
  }

  /** @internal */
  heartbeat(me: string, ttlMs: number, settleMs: number, known: boolean): HeartbeatResult {
    this.check();
    const now = Date.now();
    const fresh = !this.nodes.has(me);
    if (fresh && known) this.settleUntil = Math.max(this.settleUntil, now + settleMs);
    this.nodes.set(me, now + ttlMs);
    const reaped: string[] = [];
    for (const [node, until] of this.nodes) {
      if (node === me || until > now) continue;
      this.logMeta?.origins.delete(node);
      reaped.push(node);
      this.forget(node);
    }
    const expired: Array<readonly [string, string | null]> = [];
    for (const [sid, until] of this.parked) {
      if (until > now) continue;
      this.parked.delete(sid);
      if (this.owner(sid) === undefined && this.presence.delete(sid)) expired.push([sid, null]);
    }
    this.publishPresence(expired);
    return { fresh, nodes: [...this.nodes.keys()], reaped };
  }

  /** @internal */
  sessions(me: string, ops: readonly SessionOp[]): Array<'ok' | 'lost'> {
    this.check();
    const results: Array<'ok' | 'lost'> = [];
    const changes: Array<readonly [string, string | null]> = [];
    for (const op of ops) {
      const owner = this.owner(op.sid);
      switch (op.op) {
        case 'open':
          this.owners.set(op.sid, {
            o: me,
            e: 1,
            st: 'live',
            c: '',
            u: op.userKey,
            until: undefined,
          });
          this.own(me, op.sid);
          this.presence.set(op.sid, op.entry);
          changes.push([op.sid, op.entry]);
          results.push('ok');
          break;
        case 'conn':
          if (owner?.o === me) {
            this.presence.set(op.sid, op.entry);
            changes.push([op.sid, op.entry]);
          }
          results.push('ok');
          break;
        case 'end':
          if (owner?.o === me) {
            this.owners.delete(op.sid);
            if (this.presence.delete(op.sid)) changes.push([op.sid, null]);
          }
          this.nodeSessions.get(me)?.delete(op.sid);
          results.push('ok');
          break;
        case 'restore':
          if (owner === undefined) {
            this.owners.set(op.sid, {
              o: me,
              e: op.epoch,
              st: 'live',
              c: '',
              u: op.userKey,
              until: undefined,
            });
          } else if (owner.o !== me) {
            results.push('lost');
            break;
          }
          this.own(me, op.sid);
          this.presence.set(op.sid, op.entry);
          changes.push([op.sid, op.entry]);
          results.push('ok');
          break;
      }
    }
    this.publishPresence(changes);
    return results;
  }

  /** @internal */
  claim(me: string, sid: string, userKey: string): ClaimResult {
    this.check();
    const owner = this.owner(sid);
    if (owner === undefined) return { kind: 'unknown', settling: this.settling(me) };
    if (owner.u !== userKey) return { kind: 'forbidden' };
    if (owner.st === 'parked' || owner.o === me) {
      const record = this.take(this.records, sid);
      if (record === undefined) {
        if (owner.st === 'parked') {
          this.owners.delete(sid); // expired
          return { kind: 'unknown', settling: false };
        }
        // Ours, but no record: the caller holds it (or is handing it over) itself.
        return { kind: 'busy' };
      }
      const inbox = this.take(this.inboxes, sid) ?? [];
      this.parked.delete(sid);
      owner.o = me;
      owner.e += owner.st === 'parked' ? 1 : 0;
      owner.st = 'live';
      owner.c = '';
      owner.until = undefined;
      this.own(me, sid);
      return { kind: 'taken', epoch: owner.e, record, inbox };
    }
    if (!this.alive(owner.o)) return { kind: 'lost' };
    if (owner.st === 'handing' && this.alive(owner.c)) return { kind: 'busy' };
    owner.e += 1;
    owner.st = 'claiming';
    owner.c = me;
    this.direct(owner.o, JSON.stringify({ op: 'takeover', sid, to: me, epoch: owner.e }));
    return { kind: 'asked', epoch: owner.e, owner: owner.o };
  }

  /** @internal */
  accept(me: string, sid: string, epoch: number): boolean {
    this.check();
    const owner = this.owner(sid);
    if (owner?.o !== me || owner.st !== 'claiming' || owner.e !== epoch || !this.alive(owner.c)) {
      return false;
    }
    owner.st = 'handing';
    return true;
  }

  /** @internal */
  cancel(me: string, sid: string, epoch: number): 'cancelled' | 'coming' | 'gone' {
    this.check();
    const owner = this.owner(sid);
    if (owner?.st === 'claiming' && owner.c === me && owner.e === epoch) {
      owner.st = 'live';
      owner.c = '';
      return 'cancelled';
    }
    if (owner !== undefined && (owner.o === me || (owner.st === 'handing' && owner.c === me))) {
      return 'coming';
    }
    return 'gone';
  }

  /** @internal */
  park(me: string, sid: string, record: string, ttlMs: number): ParkResult {
    this.check();
    const owner = this.owner(sid);
    if (owner === undefined) return { kind: 'missing' };
    if (owner.o !== me) return { kind: 'fenced' };
    const until = Date.now() + ttlMs;
    this.records.set(sid, { value: record, until });
    this.nodeSessions.get(me)?.delete(sid);
    const claimant = owner.c;
    if (
      (owner.st === 'claiming' || owner.st === 'handing') &&
      claimant !== '' &&
      this.alive(claimant)
    ) {
      owner.o = claimant;
      owner.st = 'live';
      owner.c = '';
      this.own(claimant, sid);
      const entry = this.presence.get(sid);
      if (entry !== undefined) {
        const moved = `${claimant}|0|${rest(entry)}`;
        this.presence.set(sid, moved);
        this.publishPresence([[sid, moved]]);
      }
      this.direct(
        claimant,
        `{"op":"handed","sid":"${sid}","epoch":${owner.e},"from":"${me}","record":${record}}`,
      );
      return { kind: 'handed', to: claimant };
    }
    owner.o = '';
    owner.e += 1;
    owner.st = 'parked';
    owner.c = '';
    owner.until = until;
    this.parked.set(sid, until);
    // It stays in presence, not connected, under its last node, until a node takes it or it expires.
    const entry = this.presence.get(sid);
    if (entry !== undefined && entry[entry.indexOf('|') + 1] !== '0') {
      const away = `${entry.slice(0, entry.indexOf('|'))}|0|${rest(entry)}`;
      this.presence.set(sid, away);
      this.publishPresence([[sid, away]]);
    }
    return { kind: 'parked' };
  }

  /** @internal */
  release(me: string, sid: string): { epoch: number; record: string } | null {
    this.check();
    const owner = this.owner(sid);
    if (owner?.o !== me) return null;
    const record = this.take(this.records, sid);
    if (record !== undefined) return { epoch: owner.e, record };
    const claimant = owner.c;
    this.dropOwnership(sid, me);
    if (claimant !== '') this.direct(claimant, JSON.stringify({ op: 'gone', sid }));
    return null;
  }

  /** @internal */
  dropRecord(sid: string): void {
    this.check();
    this.records.delete(sid);
  }

  /** @internal */
  send(me: string, sid: string, message: string): SendResult {
    this.check();
    const owner = this.owner(sid);
    if (owner === undefined) return { kind: 'missing', settling: this.settling(me) };
    if (owner.st === 'parked') {
      const inbox = this.inboxes.get(sid);
      if (inbox !== undefined && inbox.until > Date.now()) inbox.value.push(message);
      else this.inboxes.set(sid, { value: [message], until: owner.until ?? Date.now() });
      return { kind: 'queued' };
    }
    this.direct(owner.o, message);
    return { kind: 'published', owner: owner.o };
  }

  /** @internal */
  publish(nodeId: string, message: string): void {
    this.check();
    this.direct(nodeId, message);
  }

  /** @internal */
  appendBroadcasts(
    origin: string,
    incarnation: string,
    entries: readonly BroadcastAppend[],
    maxLen: number,
  ): number {
    this.check();
    const meta = this.meta();
    const last = meta.origins.get(origin);
    let top = last !== undefined && last[0] === incarnation ? last[1] : -1;
    const messages: string[] = [];
    for (const { n, header, json } of entries) {
      if (n <= top) continue;
      top = n;
      const offset = ++meta.offset;
      const message = `{"e":"${meta.epoch}","s":${offset},${header.slice(1)}\n${json}`;
      this.log.push({ offset, message });
      messages.push(message);
    }
    if (messages.length === 0) return 0;
    meta.origins.set(origin, [incarnation, top]);
    if (this.log.length > maxLen) this.log.splice(0, this.log.length - maxLen);
    // As from Redis: the messages of one append arrive together, in order.
    for (const events of this.subscribers.values()) {
      later(() => {
        for (const message of messages) if (this.available) events.broadcast(message);
      });
    }
    return messages.length;
  }

  /** @internal */
  readBroadcasts(after: number, count: number): BroadcastRead {
    this.check();
    const meta = this.meta();
    const entries = this.log.filter((entry) => entry.offset > after).slice(0, count);
    return { epoch: meta.epoch, top: meta.offset, entries };
  }

  /** @internal */
  presenceSnapshot(): Array<[string, string]> {
    this.check();
    return [...this.presence.entries()];
  }

  /** @internal */
  leave(me: string): void {
    this.check();
    this.forget(me);
  }

  // --- internals -----------------------------------------------------------

  /** A node is gone (it left, or its TTL ran out): its sessions leave the owners and presence. */
  private forget(node: string): void {
    const changes: Array<readonly [string, string | null]> = [];
    for (const sid of this.nodeSessions.get(node) ?? []) {
      if (this.owners.get(sid)?.o === node) this.owners.delete(sid);
      if (this.presence.delete(sid)) changes.push([sid, null]);
    }
    this.nodeSessions.delete(node);
    this.nodes.delete(node);
    this.publishPresence(changes);
  }

  private meta(): NonNullable<MemoryHub['logMeta']> {
    return (this.logMeta ??= {
      epoch: Math.random().toString(36).slice(2, 10),
      offset: 0,
      origins: new Map(),
    });
  }

  private check(): void {
    if (!this.available) throw new Error('the in-memory cluster hub is down');
  }

  /** See `settling` in scripts.ts. */
  private settling(me: string): boolean {
    return !this.alive(me) || Date.now() < this.settleUntil;
  }

  private alive(node: string): boolean {
    return (this.nodes.get(node) ?? 0) > Date.now();
  }

  private owner(sid: string): Ownership | undefined {
    const owner = this.owners.get(sid);
    if (owner?.until !== undefined && owner.until <= Date.now()) {
      this.owners.delete(sid);
      return undefined;
    }
    return owner;
  }

  private own(node: string, sid: string): void {
    let set = this.nodeSessions.get(node);
    if (set === undefined) this.nodeSessions.set(node, (set = new Set()));
    set.add(sid);
  }

  private dropOwnership(sid: string, node: string): void {
    this.owners.delete(sid);
    this.nodeSessions.get(node)?.delete(sid);
    if (this.presence.delete(sid)) this.publishPresence([[sid, null]]);
  }

  private take<T>(map: Map<string, Expiring<T>>, key: string): T | undefined {
    const entry = map.get(key);
    map.delete(key);
    return entry !== undefined && entry.until > Date.now() ? entry.value : undefined;
  }

  private direct(nodeId: string, message: string): void {
    const events = this.subscribers.get(nodeId);
    if (events !== undefined) later(() => this.available && events.direct(message));
  }

  private publishPresence(changes: ReadonlyArray<readonly [string, string | null]>): void {
    if (changes.length === 0) return;
    const copy = [...changes];
    for (const events of this.subscribers.values())
      later(() => this.available && events.presence(copy));
  }
}

/** A presence value without its `nodeId|connected|` prefix. */
function rest(entry: string): string {
  return entry.slice(entry.indexOf('|', entry.indexOf('|') + 1) + 1);
}

/** Messages arrive on a later turn, in the order they were sent, as over a network. */
function later(deliver: () => unknown): void {
  setImmediate(deliver);
}
