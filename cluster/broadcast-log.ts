// Cluster broadcasts: one log in the store (a Redis stream with an epoch and
// consecutive offsets), published to every node as it is appended. Every
// node, the origin too, applies the entries in log order to its own
// sessions, so every session sees broadcasts in the same order wherever it
// is. A node that missed entries (a gap in offsets, a reconnection) reads
// them back from the log. A session that moves carries its position (log
// epoch, offset, and the last broadcast of each origin it has), and the
// node that takes it over replays what it missed before the session resumes.
import type { Logger } from '../server/logger.js';
import type { ServerSession } from '../server/session.js';
import type { BroadcastAppend, ClusterEngine } from './engine.js';

/** One broadcast, parsed from the log. */
interface Entry {
  offset: number;
  /** The origin node, its process incarnation, and its broadcast number. */
  node: string;
  inc: string;
  n: number;
  type: string;
  /** The sessions a filtered broadcast is for (null: every session). */
  ids: ReadonlySet<string> | null;
  json: string;
}

/** The header of a log message, as JSON before the payload's line. */
interface Header {
  e: string;
  s: number;
  o: string;
  k: string;
  n: number;
  t: string;
  to?: string[];
}

/**
 * Where a session is in the broadcast log: the epoch and offset of the last
 * entry its node applied, and per origin node `[incarnation, n]` of the last
 * broadcast it has (what makes a replay exact after the store lost the log).
 */
export interface LogPosition {
  e: string | null;
  s: number;
  o: Record<string, [string, number]>;
}

/** What the log needs from its node. */
export interface LogContext {
  readonly engine: ClusterEngine;
  readonly nodeId: string;
  /** This process's incarnation: a restarted process with the same node id numbers anew. */
  readonly incarnation: string;
  readonly history: number;
  readonly logger: Logger;
  localSessions(): Iterable<ServerSession<never, unknown>>;
  /** A store command failed. */
  failed(what: string, error: unknown): void;
  /** One broadcast went into the log. */
  appended(): void;
}

/** Broadcasts waiting for the store are bounded: beyond this, `broadcast` throws. */
export const MAX_WAITING_BROADCASTS = 10_000;
/** Entries kept in memory for replays; older ones are read back from the store. */
const RECENT = 4_096;
const READ_BATCH = 1_000;
/** Broadcasts appended per store command at most, and about how many bytes (one larger broadcast goes alone). */
const APPEND_BATCH = 256;
const APPEND_BYTES = 512 * 1024;

export class BroadcastLog {
  private epoch: string | null = null;
  private offset = 0;
  /** Per origin node: the last broadcast applied here. */
  private readonly applied = new Map<string, [string, number]>();
  private readonly recent: Entry[] = [];
  /** Entries that arrived ahead of a gap, until the gap is read back. */
  private readonly held = new Map<number, Entry>();
  private reading: Promise<void> | null = null;
  /** Broadcasts of this node not yet in the log, oldest first. */
  private readonly outbox: BroadcastAppend[] = [];
  private appending = false;
  private counter = 0;
  /** Sessions that moved in ahead of this node: per origin, the last broadcast they have. */
  private readonly ahead = new Map<string, Map<string, [string, number]>>();

  constructor(private readonly ctx: LogContext) {}

  /** Broadcasts waiting for the store. */
  get waiting(): number {
    return this.outbox.length;
  }

  /** Queues a broadcast for the log; it reaches sessions (here too) once appended. */
  broadcast(type: string, json: string, ids: string[] | null): void {
    const n = ++this.counter;
    const header: Omit<Header, 'e' | 's'> = {
      o: this.ctx.nodeId,
      k: this.ctx.incarnation,
      n,
      t: type,
    };
    if (ids !== null) header.to = ids; // encoded below, never kept
    this.outbox.push({ n, header: JSON.stringify(header), json });
    void this.flush();
  }

  /**
   * Appends waiting broadcasts in order: everything waiting (up to a batch)
   * in one store command, then the next batch with what queued meanwhile, so
   * the broadcasts of a busy node reach the log (and every node) together.
   * One batch at a time keeps the order through a failure: it stops at the
   * first one (retried later; the log skips what it has already).
   */
  async flush(): Promise<void> {
    if (this.appending) return;
    this.appending = true;
    try {
      while (this.outbox.length > 0) {
        const batch = this.nextBatch();
        await this.ctx.engine.appendBroadcasts(
          this.ctx.nodeId,
          this.ctx.incarnation,
          batch,
          this.ctx.history,
        );
        this.outbox.splice(0, batch.length);
        for (let i = 0; i < batch.length; i++) this.ctx.appended();
      }
    } catch (error) {
      this.ctx.failed('broadcast append', error);
    } finally {
      this.appending = false;
    }
  }

  /** Starts from the end of the log (a new node has nothing to catch up on). */
  async init(): Promise<void> {
    const read = await this.ctx.engine.readBroadcasts(Number.MAX_SAFE_INTEGER, 0);
    if (this.epoch !== null) return; // a message came first and set the position
    this.epoch = read.epoch;
    this.offset = read.top;
  }

  /** One entry as published. */
  receive(message: string): void {
    const entry = parse(message);
    if (entry === null) {
      this.ctx.logger.warn('cluster: unreadable broadcast log entry ignored');
      return;
    }
    const { header } = entry;
    if (this.epoch === null) {
      this.epoch = header.e;
      this.offset = header.s - 1;
    } else if (header.e !== this.epoch) {
      this.restarted(header.e);
    }
    this.accept(entry.entry);
  }

  /** Reads back whatever was missed (after a reconnection, and on every heartbeat). */
  catchUp(): Promise<void> {
    return (this.reading ??= this.readBack().finally(() => (this.reading = null)));
  }

  /** The position of a local session, for its record. */
  position(sid: string): LogPosition {
    const o: Record<string, [string, number]> = {};
    for (const [node, mark] of this.applied) o[node] = mark;
    for (const [node, mark] of this.ahead.get(sid) ?? []) {
      const mine = o[node];
      if (mine === undefined || mine[0] !== mark[0] || mine[1] < mark[1]) o[node] = mark;
    }
    return { e: this.epoch, s: this.offset, o };
  }

  /**
   * The entries a session arriving at `position` may have missed, read from
   * the store when memory does not reach back far enough. The caller then
   * calls {@link adopt} synchronously with them.
   */
  async prepare(position: LogPosition | null): Promise<Entry[]> {
    if (position === null || position.e === null) return [];
    if (this.epoch === null) await this.init();
    const from = position.e === this.epoch ? position.s : 0;
    const first = this.recent[0]?.offset ?? this.offset + 1;
    if (from + 1 >= first || from >= this.offset) return [];
    const fetched: Entry[] = [];
    let after = from;
    while (after + 1 < first) {
      const read = await this.ctx.engine.readBroadcasts(after, READ_BATCH);
      if (read.epoch !== this.epoch) break;
      for (const { message } of read.entries) {
        const parsed = parse(message);
        if (parsed !== null && parsed.entry.offset < first) fetched.push(parsed.entry);
      }
      if (read.entries.length < READ_BATCH) break;
      after = read.entries.at(-1)!.offset;
    }
    return fetched;
  }

  /**
   * Gives a session that moved in what it missed (before it resumes), and
   * marks what it already has beyond this node, so it never gets an entry twice.
   */
  adopt(
    session: ServerSession<never, unknown>,
    position: LogPosition | null,
    fetched: Entry[],
  ): void {
    if (position === null || position.e === null || this.epoch === null) return;
    const from = position.e === this.epoch ? position.s : 0;
    const seen = new Set<number>();
    for (const entry of [...fetched, ...this.recent]) {
      if (entry.offset <= from || entry.offset > this.offset || seen.has(entry.offset)) continue;
      seen.add(entry.offset);
      const had = position.o[entry.node];
      if (had !== undefined && had[0] === entry.inc && entry.n <= had[1]) continue;
      if (entry.ids !== null && !entry.ids.has(session.id)) continue;
      session.sendJson(entry.type, entry.json);
    }
    for (const [node, mark] of Object.entries(position.o)) {
      const mine = this.applied.get(node);
      if (mine !== undefined && mine[0] === mark[0] && mine[1] >= mark[1]) continue;
      let marks = this.ahead.get(session.id);
      if (marks === undefined) this.ahead.set(session.id, (marks = new Map()));
      marks.set(node, mark);
    }
  }

  /** A session left this node (ended or moved): drop what was kept for it. */
  forget(sid: string): void {
    this.ahead.delete(sid);
  }

  // --- internals -----------------------------------------------------------

  /** The oldest waiting broadcasts, at most APPEND_BATCH of them or about APPEND_BYTES (at least one). */
  private nextBatch(): BroadcastAppend[] {
    let bytes = 0;
    let end = 0;
    while (end < this.outbox.length && end < APPEND_BATCH) {
      const next = this.outbox[end]!;
      bytes += next.header.length + next.json.length;
      if (end > 0 && bytes > APPEND_BYTES) break;
      end++;
    }
    return this.outbox.slice(0, end);
  }

  private restarted(epoch: string): void {
    this.ctx.logger.warn('cluster: the broadcast log restarted (the store lost its data)', {
      epoch,
    });
    this.epoch = epoch;
    this.offset = 0;
    this.held.clear();
    this.recent.length = 0;
  }

  private accept(entry: Entry): void {
    if (entry.offset <= this.offset) return;
    if (entry.offset > this.offset + 1) {
      this.held.set(entry.offset, entry);
      void this.catchUp();
      return;
    }
    this.apply(entry);
    for (let next = this.held.get(this.offset + 1); next; next = this.held.get(this.offset + 1)) {
      this.held.delete(next.offset);
      this.apply(next);
    }
  }

  private async readBack(): Promise<void> {
    try {
      for (;;) {
        const read = await this.ctx.engine.readBroadcasts(this.offset, READ_BATCH);
        if (this.epoch !== read.epoch) {
          if (this.epoch === null) {
            this.epoch = read.epoch;
            this.offset = read.top;
            return;
          }
          this.restarted(read.epoch);
          continue;
        }
        for (const { message } of read.entries) {
          const parsed = parse(message);
          if (parsed === null) continue;
          if (parsed.entry.offset > this.offset + 1) {
            this.ctx.logger.warn(
              'cluster: broadcasts trimmed from the log before this node read them',
              {
                from: this.offset + 1,
                to: parsed.entry.offset - 1,
              },
            );
            this.offset = parsed.entry.offset - 1;
          }
          this.accept(parsed.entry);
        }
        if (read.entries.length < READ_BATCH) return;
      }
    } catch (error) {
      this.ctx.failed('broadcast read', error);
    }
  }

  private apply(entry: Entry): void {
    this.offset = entry.offset;
    this.recent.push(entry);
    if (this.recent.length > RECENT) this.recent.splice(0, this.recent.length - RECENT);
    const last = this.applied.get(entry.node);
    // The same broadcast appended again after the store lost the log.
    if (last !== undefined && last[0] === entry.inc && entry.n <= last[1]) return;
    this.applied.set(entry.node, [entry.inc, entry.n]);
    let full = 0;
    for (const session of this.ctx.localSessions()) {
      if (session.state !== 'open') continue;
      if (entry.ids !== null && !entry.ids.has(session.id)) continue;
      if (this.ahead.size > 0 && this.isAhead(session.id, entry)) continue;
      if (!session.sendJson(entry.type, entry.json)) full++;
    }
    if (full > 0) {
      this.ctx.logger.warn('broadcast skipped sessions over maxUnacked', {
        type: entry.type,
        skipped: full,
      });
    }
  }

  /** True when the session already has `entry` (it moved in from a node that was ahead). */
  private isAhead(sid: string, entry: Entry): boolean {
    const marks = this.ahead.get(sid);
    const mark = marks?.get(entry.node);
    if (marks === undefined || mark === undefined || mark[0] !== entry.inc) return false;
    const had = entry.n <= mark[1];
    if (entry.n >= mark[1]) {
      // This node has caught up with that origin: the mark is done.
      marks.delete(entry.node);
      if (marks.size === 0) this.ahead.delete(sid);
    }
    return had;
  }
}

function parse(message: string): { header: Header; entry: Entry } | null {
  const newline = message.indexOf('\n');
  if (newline < 0) return null;
  let header: Header;
  try {
    header = JSON.parse(message.slice(0, newline)) as Header;
  } catch {
    return null;
  }
  if (
    typeof header.e !== 'string' ||
    typeof header.s !== 'number' ||
    typeof header.o !== 'string' ||
    typeof header.k !== 'string' ||
    typeof header.n !== 'number' ||
    typeof header.t !== 'string'
  ) {
    return null;
  }
  return {
    header,
    entry: {
      offset: header.s,
      node: header.o,
      inc: header.k,
      n: header.n,
      type: header.t,
      ids: Array.isArray(header.to) ? new Set(header.to) : null,
      json: message.slice(newline + 1),
    },
  };
}
