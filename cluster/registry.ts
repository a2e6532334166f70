// This node's sessions as the store knows them: who owns each one (with its
// fencing epoch) and its presence value. Changes go to the store in batches,
// once per turn of the event loop; after an outage the node registers every
// session again (a restore), since what it wrote meanwhile may be lost.
import type { ClusterHost } from '../server/cluster.js';
import type { Logger } from '../server/logger.js';
import { unkeyed, userKeyOf } from '../server/resolve-options.js';
import type { ServerSession } from '../server/session.js';
import { encodePresence } from './directory.js';
import type { ClusterEngine, SessionOp } from './engine.js';

/** Sessions restored per store command after a reconnection. */
const RESTORE_BATCH = 500;
/** A new session's `$welcome` never waits longer than this for its registration. */
const RESERVE_MS = 1_000;

export class SessionRegistry {
  /** The fencing epoch each local session is held under. */
  readonly epochs = new Map<string, number>();
  /** The store lost (or may have lost) what this node wrote: register everything again. */
  needsRestore = false;
  private ops: SessionOp[] = [];
  /** Called once the ops queued so far reached the store (or failed). */
  private flushed: Array<() => void> = [];
  /** New sessions registered before their `$welcome` (see `reserve`). */
  private readonly reserved = new Set<string>();
  /** `end` ops that failed: retried until the store has them. */
  private readonly unfinished = new Set<string>();
  private flushing = false;

  constructor(
    private readonly engine: ClusterEngine,
    private readonly host: ClusterHost,
    private readonly nodeId: string,
    private readonly logger: Logger,
    private readonly failed: (what: string, error: unknown) => void,
  ) {}

  /** Registers a new session before its client learns its id; resolves once the store has it (or soon). */
  reserve(sid: string, user: unknown): Promise<void> {
    const userKey = userKeyOf(this.host.options, user);
    this.reserved.add(sid);
    this.queue({
      op: 'open',
      sid,
      userKey,
      entry: encodePresence(this.nodeId, true, unkeyed(userKey), user),
    });
    if (!this.engine.up) return Promise.resolve();
    return new Promise((resolve) => {
      this.flushed.push(resolve);
      // Never hold a client for long: the node registers its sessions again anyway.
      setTimeout(resolve, RESERVE_MS).unref?.();
    });
  }

  /** A reserved session never started. */
  discard(sid: string): void {
    if (this.reserved.delete(sid)) this.queue({ op: 'end', sid });
  }

  /** A session started here (registered unless reserved) or moved in (owned already: presence only). */
  opened(session: ServerSession<never, unknown>): void {
    if (session.movedFrom !== undefined) {
      this.queue({ op: 'conn', sid: session.id, entry: this.entry(session) });
      return;
    }
    this.epochs.set(session.id, 1);
    if (!this.reserved.delete(session.id)) {
      this.queue({
        op: 'open',
        sid: session.id,
        userKey: session.userKey,
        entry: this.entry(session),
      });
    }
  }

  /** Its connection came or went. False when the session is not (or no longer) registered here. */
  connectionChanged(session: ServerSession<never, unknown>): boolean {
    if (session.moving || !this.epochs.has(session.id)) return false;
    this.queue({ op: 'conn', sid: session.id, entry: this.entry(session) });
    return true;
  }

  ended(sid: string): void {
    this.epochs.delete(sid);
    this.queue({ op: 'end', sid });
  }

  /** Registers one session again, now (the store did not know it). */
  async register(session: ServerSession<never, unknown>): Promise<void> {
    await this.engine.sessions(this.nodeId, [this.restoreOp(session)]);
  }

  /**
   * Registers every local session again (the store restarted, or declared
   * this node dead). Calls `lost` for each one another node took meanwhile.
   * False when the store failed.
   */
  async restore(lost: (session: ServerSession<never, unknown>) => void): Promise<boolean> {
    const sessions = [...this.host.localSessions()].filter((s) => s.state === 'open' && !s.moving);
    try {
      for (let i = 0; i < sessions.length; i += RESTORE_BATCH) {
        const batch = sessions.slice(i, i + RESTORE_BATCH);
        const results = await this.engine.sessions(
          this.nodeId,
          batch.map((s) => this.restoreOp(s)),
        );
        results.forEach((result, j) => {
          if (result !== 'lost') return;
          this.epochs.delete(batch[j]!.id);
          lost(batch[j]!);
        });
      }
      if (sessions.length > 0) {
        this.logger.info("cluster: registered this node's sessions again", {
          count: sessions.length,
        });
      }
      return true;
    } catch (error) {
      this.failed('restore', error);
      this.needsRestore = true;
      return false;
    }
  }

  /** Sends what is queued (and retries failed ends). */
  flush(): Promise<void> {
    return this.flushNow().catch(() => undefined);
  }

  /** The presence value of a local session. */
  entry(session: ServerSession<never, unknown>): string {
    return encodePresence(this.nodeId, session.connected, unkeyed(session.userKey), session.user);
  }

  private restoreOp(session: ServerSession<never, unknown>): SessionOp {
    return {
      op: 'restore',
      sid: session.id,
      epoch: this.epochs.get(session.id) ?? 1,
      userKey: session.userKey,
      entry: this.entry(session),
    };
  }

  private queue(op: SessionOp): void {
    this.ops.push(op);
    if (this.ops.length === 1) setImmediate(() => void this.flush());
  }

  private async flushNow(): Promise<void> {
    if (this.flushing) return;
    if (this.ops.length === 0 && this.unfinished.size === 0) return;
    this.flushing = true;
    const retried: SessionOp[] = [...this.unfinished].map((sid) => ({ op: 'end', sid }));
    const ops = [...retried, ...this.ops];
    const flushed = this.flushed;
    this.ops = [];
    this.flushed = [];
    try {
      await this.engine.sessions(this.nodeId, ops);
      for (const op of retried) this.unfinished.delete(op.sid);
    } catch (error) {
      this.failed('session registry', error);
      // Ends must reach the store; opens and presence are written again by the restore.
      for (const op of ops) if (op.op === 'end') this.unfinished.add(op.sid);
      this.needsRestore = true;
    } finally {
      this.flushing = false;
      for (const done of flushed) done();
    }
    if (this.ops.length > 0) setImmediate(() => void this.flush());
  }
}
