// Sessions moving between nodes. The node a client resumes on claims the
// session in the store (a fencing epoch: only the latest claim can receive
// it), and the store asks the node holding it to hand it over. That node
// freezes the session (nothing more goes in or out there, request streams
// end with RXWIRE_SESSION_MOVED), exports its record and parks it: the store
// passes ownership and the record to the claimant in one step. The claimant
// replays the broadcasts the session missed and resumes it. A drain parks
// every session the same way with nobody claiming yet; the record then waits
// in the store until a node takes it. EMQX's takeover (pause, hand over,
// stop the old session) is the model; the fencing epoch is what makes "two
// nodes never own one session" hold across timeouts and outages.
import type { TakeoverResult } from '../server/cluster.js';
import {
  finishMove,
  freezeSession,
  validateRecord,
  type SessionRecord,
} from '../server/handover.js';
import type { Logger } from '../server/logger.js';
import type { ServerSession } from '../server/session.js';
import type { BroadcastLog, LogPosition } from './broadcast-log.js';
import { ClaimBatcher } from './claims.js';
import { SESSION_ID, type ClusterEngine } from './engine.js';
import type { RemoteSends } from './remote-send.js';

/** What a session's record carries for the cluster (`record.cluster`). */
interface ClusterPart {
  /** The node that wrote the record. */
  node: string;
  /** Its fencing epoch when written. */
  epoch: number;
  log: LogPosition | null;
  remote: unknown;
}

/** A `handed` or `gone` message, for the node that claimed the session. */
export interface Answer {
  op: 'handed' | 'gone';
  sid: string;
  epoch?: number;
  from?: string;
  record?: unknown;
}

/** What takeovers need from their node. */
export interface TakeoverContext {
  readonly engine: ClusterEngine;
  readonly nodeId: string;
  readonly handoverTimeout: number;
  /** True once the node is closing: stop retrying. */
  readonly closing: boolean;
  readonly logger: Logger;
  readonly log: BroadcastLog;
  readonly remote: RemoteSends;
  /** `recoveryWindow`: how long a parked record waits in the store. */
  readonly recordTtl: number;
  userKey(user: unknown): string;
  session(id: string): ServerSession<never, unknown> | undefined;
  /** The fencing epoch this node holds a local session under. */
  epochs: Map<string, number>;
  /** A session whose connection is gone arrived (a late `handed`): keep it here. */
  adoptDetached(result: Extract<TakeoverResult, { kind: 'record' }>): void;
  failed(what: string, error: unknown): void;
  movedIn(): void;
  movedOut(): void;
  /** The session left this node: forget its cluster state. */
  left(sid: string): void;
  /** Registers a local session in the store again (it lost it). */
  register(session: ServerSession<never, unknown>): Promise<void>;
}

export class Takeovers {
  private readonly waiting = new Map<string, (answer: Answer) => void>();
  /** Takeovers running on this node, by session. */
  private readonly claiming = new Map<string, Promise<TakeoverResult>>();
  /** Sessions this node is handing over, until the store has their record. */
  private readonly moving = new Map<string, Promise<void>>();
  private readonly claims: ClaimBatcher;

  constructor(private readonly ctx: TakeoverContext) {
    this.claims = new ClaimBatcher(ctx.engine, ctx.nodeId);
  }

  /** Sessions not yet handed over (a drain waits for these). */
  get inFlight(): number {
    return this.moving.size;
  }

  /** Resolves when every takeover and hand-over running now has finished. */
  async settled(): Promise<void> {
    while (this.claiming.size > 0 || this.moving.size > 0) {
      await Promise.allSettled([...this.claiming.values(), ...this.moving.values()]);
    }
  }

  // --- the node a client resumed on ----------------------------------------

  /**
   * Takes a session over for a resuming connection. One takeover per session
   * runs on a node at a time: a second connection for the same session (the
   * client reconnected here while the first waited) waits for the first and
   * then looks again.
   */
  takeOver(sid: string, user: unknown, wanted: () => boolean): Promise<TakeoverResult> {
    if (!SESSION_ID.test(sid)) return Promise.resolve({ kind: 'new' });
    const running = this.claiming.get(sid);
    if (running !== undefined) return running.then(() => ({ kind: 'again' }));
    const started = this.claimFor(sid, user, wanted).finally(() => this.claiming.delete(sid));
    this.claiming.set(sid, started);
    return started;
  }

  private async claimFor(
    sid: string,
    user: unknown,
    wanted: () => boolean,
  ): Promise<TakeoverResult> {
    const userKey = this.ctx.userKey(user);
    const unreachable: TakeoverResult = {
      kind: 'retry',
      reason: 'the cluster store is unreachable',
    };
    let accepted = false;
    for (let attempt = 0; attempt < 2; attempt++) {
      // A claim steals the session from wherever it is: never for a connection
      // that is gone, unless its owner accepted ours (the record is ours to take).
      if (!accepted && !wanted()) return { kind: 'retry', reason: 'the connection closed' };
      // Listen before claiming: the record can arrive before the claim's own answer.
      const mailbox = this.mailbox(sid);
      let claim;
      try {
        claim = await this.claims.claim(sid, userKey);
      } catch (error) {
        mailbox.close();
        this.ctx.failed('takeover claim', error);
        return unreachable;
      }
      if (claim.kind !== 'asked') mailbox.close();
      switch (claim.kind) {
        case 'unknown':
          if (!claim.settling) return { kind: 'new' };
          return {
            kind: 'retry',
            reason: 'the cluster store restarted; nodes are registering their sessions',
          };
        case 'lost':
          return { kind: 'new' };
        case 'forbidden':
          return { kind: 'forbidden' };
        case 'busy':
          return { kind: 'retry', reason: 'the session is being handed to another node' };
        case 'taken':
          return this.result(sid, claim.record, claim.inbox, claim.epoch, false);
      }
      let answer = await mailbox.wait(this.ctx.handoverTimeout);
      if (answer === null) {
        // Nothing yet. Withdraw the claim, unless its owner accepted it:
        // then the record is on its way, and this node must take it.
        let verdict: 'cancelled' | 'coming' | 'gone';
        try {
          verdict = await this.ctx.engine.cancel(this.ctx.nodeId, sid, claim.epoch);
        } catch (error) {
          this.ctx.failed('takeover cancel', error);
          return unreachable;
        }
        if (verdict !== 'coming') {
          return { kind: 'retry', reason: 'the node holding the session did not answer in time' };
        }
        accepted = true;
        answer = await mailbox.wait(this.ctx.handoverTimeout);
      }
      mailbox.close();
      if (answer?.op === 'gone') return { kind: 'new' };
      if (answer?.op === 'handed') {
        return this.result(sid, answer.record, [], answer.epoch ?? claim.epoch, true);
      }
      // Accepted but the record has not come: claim again, which finds a record handed to us.
      this.ctx.logger.info('cluster: a handed session has not arrived yet; asking the store', {
        session: sid,
        owner: claim.owner,
      });
    }
    return { kind: 'retry', reason: 'the node holding the session did not hand it over in time' };
  }

  /** A `handed` or `gone` message. */
  answered(answer: Answer): void {
    const waiter = this.waiting.get(answer.sid);
    if (waiter !== undefined) {
      waiter(answer);
      return;
    }
    if (answer.op !== 'handed') return;
    // We gave up waiting (the client was told to come back) but the store
    // made us the owner: keep the session here until its client resumes.
    const running = this.claiming.get(answer.sid);
    const record = answer.record;
    if (running === undefined) this.orphan(answer.sid, record, answer.epoch ?? 0);
    else
      void running.finally(() =>
        setImmediate(() => this.orphan(answer.sid, record, answer.epoch ?? 0)),
      );
  }

  /** Imports a record that was handed to this node with no connection waiting for it. */
  private orphan(sid: string, record: unknown, epoch: number): void {
    if (this.claiming.has(sid) || this.ctx.session(sid) !== undefined) return;
    const arriving = this.result(sid, record, [], epoch, true)
      .then((result) => {
        if (result.kind === 'record') this.ctx.adoptDetached(result);
        return result;
      })
      .finally(() => this.claiming.delete(sid));
    this.claiming.set(sid, arriving);
  }

  /**
   * Where the answer to our claim of `sid` lands (`handed` or `gone`): open
   * from before the claim until `close()`, so an answer that beats the
   * claim's own reply is kept, not taken for an orphan.
   */
  private mailbox(sid: string): { wait(ms: number): Promise<Answer | null>; close(): void } {
    let received: Answer | null = null;
    let deliver: ((answer: Answer) => void) | null = null;
    const box = (answer: Answer): void => {
      if (deliver !== null) deliver(answer);
      else received ??= answer;
    };
    this.waiting.set(sid, box);
    return {
      wait: (ms) => {
        if (received !== null) return Promise.resolve(received);
        return new Promise<Answer | null>((resolve) => {
          const timer = setTimeout(() => {
            deliver = null;
            resolve(null);
          }, ms);
          deliver = (answer) => {
            clearTimeout(timer);
            deliver = null;
            resolve(answer);
          };
        });
      },
      close: () => {
        if (this.waiting.get(sid) === box) this.waiting.delete(sid);
      },
    };
  }

  /**
   * Reads a record (and what it missed) into a takeover result: `record` is
   * the store's text, or the object a `handed` message carried (already parsed).
   */
  private async result(
    sid: string,
    record: unknown,
    inbox: readonly string[],
    epoch: number,
    handed: boolean,
  ): Promise<TakeoverResult> {
    let valid: SessionRecord;
    let part: ClusterPart | null;
    try {
      valid = validateRecord(typeof record === 'string' ? JSON.parse(record) : record);
      if (valid.id !== sid) throw new Error(`record of ${valid.id}, not ${sid}`);
      part = clusterPart(valid.cluster);
    } catch (error) {
      this.ctx.logger.error('cluster: unusable session record; the session starts over', {
        session: sid,
        error: String(error),
      });
      this.ctx.engine.release(this.ctx.nodeId, sid).catch(() => undefined);
      return { kind: 'new' };
    }
    let fetched: Awaited<ReturnType<BroadcastLog['prepare']>> = [];
    try {
      fetched = await this.ctx.log.prepare(part?.log ?? null);
    } catch (error) {
      this.ctx.failed('broadcast replay read', error);
    }
    const from = part?.node ?? 'unknown';
    return {
      kind: 'record',
      record: valid,
      from,
      adopt: (session) => {
        this.ctx.epochs.set(sid, epoch);
        this.ctx.log.adopt(session, part?.log ?? null, fetched);
        this.ctx.remote.import(sid, part?.remote);
        this.ctx.remote.applyInbox(session, inbox);
        this.ctx.movedIn();
        this.ctx.logger.info('cluster: session moved in', { session: sid, from });
        if (handed) this.ctx.engine.dropRecord(sid).catch(() => undefined);
      },
    };
  }

  // --- the node that holds the session -------------------------------------

  /**
   * The store asks us to hand a session to another node (claim `epoch`).
   * We accept only a claim that still stands: a claimant that gave up
   * withdrew its claim, and its client may be connected here again.
   */
  requested(sid: string, epoch: number): void {
    const arriving = this.claiming.get(sid);
    if (arriving !== undefined) {
      // It is on its way here: answer once it has arrived (or not).
      void arriving.finally(() => setImmediate(() => this.requested(sid, epoch)));
      return;
    }
    const session = this.ctx.session(sid);
    if (session === undefined) {
      this.ctx.engine.release(this.ctx.nodeId, sid).then(
        (orphan) => {
          if (orphan === null) return;
          // A record handed to us whose message was lost: import it, then answer.
          this.orphan(sid, orphan.record, orphan.epoch);
          void this.claiming
            .get(sid)
            ?.finally(() => setImmediate(() => this.requested(sid, epoch)));
        },
        (error: unknown) => this.ctx.failed('takeover release', error),
      );
      return;
    }
    if (session.moving) return; // already on its way: the store hands it to the latest claimant
    this.ctx.engine.accept(this.ctx.nodeId, sid, epoch).then(
      (accepted) => {
        if (!accepted || session.state !== 'open' || session.moving) return;
        void this.move(session, 4409, 'the session was resumed on another node');
      },
      (error: unknown) => this.ctx.failed('takeover accept', error),
    );
  }

  /**
   * Freezes a local session and hands its record to the store, retrying
   * until the store answers for sure (handed, parked, or not ours any more).
   */
  move(session: ServerSession<never, unknown>, code: number, reason: string): Promise<void> {
    const running = this.moving.get(session.id);
    if (running !== undefined) return running;
    const sid = session.id;
    const record = freezeSession(session, code, reason);
    record.cluster = {
      node: this.ctx.nodeId,
      epoch: this.ctx.epochs.get(sid) ?? 0,
      log: this.ctx.log.position(sid),
      remote: this.ctx.remote.export(sid),
    } satisfies ClusterPart;
    let text: string;
    try {
      text = JSON.stringify(record);
    } catch (error) {
      // A user that JSON cannot encode (a cycle, a BigInt): the session cannot leave this process.
      this.ctx.logger.error('cluster: a session could not be handed over: its user is not JSON', {
        session: sid,
        error: String(error),
      });
      session.end({ code: 1011, reason: 'the session could not move to another node' });
      this.ctx.left(sid);
      return Promise.resolve();
    }
    const done = this.park(session, text, { code, reason }).finally(() => {
      this.moving.delete(sid);
      if (session.state === 'closed') this.ctx.left(sid);
    });
    this.moving.set(sid, done);
    return done;
  }

  private async park(
    session: ServerSession<never, unknown>,
    text: string,
    close: { code: number; reason: string },
  ): Promise<void> {
    for (let delay = 50; ; delay = Math.min(delay * 2, 2_000)) {
      let parked;
      try {
        parked = await this.ctx.engine.park(this.ctx.nodeId, session.id, text, this.ctx.recordTtl);
      } catch (error) {
        // The store may or may not have it: only it can say. The session stays frozen meanwhile.
        this.ctx.failed('park', error);
        if (this.ctx.closing) {
          this.ctx.logger.error(
            'cluster: closing before a session could be handed over; it is lost',
            {
              session: session.id,
            },
          );
          session.end({
            code: close.code,
            reason: 'the node closed before handing the session over',
          });
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, delay).unref?.());
        continue;
      }
      if (parked.kind === 'missing') {
        // The store lost its data (a restart) while the session was on its
        // way, or never had it yet: this node holds the only copy. Register
        // it again, then hand it over as planned.
        this.ctx.logger.warn(
          'cluster: the store did not know a session being handed over; registering it again',
          {
            session: session.id,
          },
        );
        await this.ctx
          .register(session)
          .catch((error: unknown) => this.ctx.failed('register', error));
        continue;
      }
      if (parked.kind === 'fenced') {
        this.ctx.logger.warn('cluster: a session this node held belongs to another node now', {
          session: session.id,
        });
        finishMove(session, close, null);
        return;
      }
      const to = parked.kind === 'handed' ? parked.to : null;
      this.ctx.movedOut();
      this.ctx.logger.info('cluster: session handed over', { session: session.id, to });
      finishMove(session, close, to);
      return;
    }
  }
}

function clusterPart(value: unknown): ClusterPart | null {
  if (typeof value !== 'object' || value === null) return null;
  const part = value as Partial<ClusterPart>;
  if (typeof part.node !== 'string') return null;
  const log = part.log as Partial<LogPosition> | null | undefined;
  const validLog =
    typeof log === 'object' &&
    log !== null &&
    (typeof log.e === 'string' || log.e === null) &&
    typeof log.s === 'number' &&
    typeof log.o === 'object' &&
    log.o !== null;
  return {
    node: part.node,
    epoch: typeof part.epoch === 'number' ? part.epoch : 0,
    log: validLog ? (log as LogPosition) : null,
    remote: part.remote,
  };
}
