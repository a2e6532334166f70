// `server.sendTo` across nodes, exactly once and in order. The origin numbers
// its messages per target session on a channel of its own (`ch`) and sends
// every message not yet confirmed, in order, until the owner confirms; the
// owner appends each `seq` once (it remembers, per channel, the last one it
// appended) and answers with how far it got. The remembered position travels
// with the session when it moves, and a session parked in the store keeps
// incoming sends in an inbox that the node taking it applies first. So a
// retry after a lost answer, a Redis outage or a move never appends twice.
import { ErrorCode, QueueFullError, RxwireError } from '../src/protocol/index.js';
import type { Logger } from '../server/logger.js';
import { notFound } from '../server/core.js';
import type { ServerSession } from '../server/session.js';
import type { ClusterEngine } from './engine.js';

/** One message waiting for its owner's confirmation. */
interface Pending {
  seq: number;
  type: string;
  json: string;
  deadline: number;
  resolve(): void;
  reject(error: Error): void;
}

/** The origin's queue towards one session. */
interface Channel {
  readonly id: string;
  readonly sid: string;
  next: number;
  readonly pending: Pending[];
  busy: boolean;
  lastUsed: number;
  retryMs: number;
  timer: ReturnType<typeof setTimeout> | undefined;
}

/** `[seq, type, payloadJson]` */
type Item = [number, string, string];

/** The `send` message: from the origin, through the store, to the session's owner (or its inbox). */
interface SendMessage {
  op: 'send';
  from: string;
  sid: string;
  ch: string;
  items: Item[];
}

/** The owner's answer: appended up to `upTo`; the `failed` ones were over `maxUnacked`. */
interface SentMessage {
  op: 'sent' | 'retry';
  sid: string;
  ch: string;
  upTo?: number;
  failed?: number[];
}

/** Per session on its owner: channel → [last seq appended, when]. Part of the session's record. */
export type RemotePositions = Record<string, [number, number]>;

/** What remote sends need from their node. */
export interface RemoteContext {
  readonly engine: ClusterEngine;
  readonly nodeId: string;
  readonly sendTimeout: number;
  readonly logger: Logger;
  session(id: string): ServerSession<never, unknown> | undefined;
  failed(what: string, error: unknown): void;
  /** One message reached a session on another node. */
  sentRemotely(): void;
}

/** How long the origin waits for the owner's answer before sending again. */
const ANSWER_MS = 2_000;
/** A channel with nothing pending is forgotten after this long; an owner forgets channels idle twice as long as sendTimeout. */
const IDLE_MS = 30_000;

export class RemoteSends {
  private readonly channels = new Map<string, Channel>();
  private readonly answers = new Map<string, (answer: SentMessage) => void>();
  /** Owner side: per local session, what each origin channel appended. */
  private readonly positions = new Map<string, Map<string, [number, number]>>();
  private counter = 0;
  private readonly sweep: ReturnType<typeof setInterval>;

  constructor(private readonly ctx: RemoteContext) {
    this.sweep = setInterval(() => this.forgetIdle(), IDLE_MS);
    this.sweep.unref?.();
  }

  /** Queues a message for a session that is not (or not only) here. */
  send(sid: string, type: string, json: string): Promise<void> {
    let channel = this.channels.get(sid);
    if (channel === undefined) {
      channel = {
        id: `${this.ctx.nodeId}.${++this.counter}`,
        sid,
        next: 1,
        pending: [],
        busy: false,
        lastUsed: Date.now(),
        retryMs: 20,
        timer: undefined,
      };
      this.channels.set(sid, channel);
    }
    const queued = channel;
    return new Promise<void>((resolve, reject) => {
      queued.pending.push({
        seq: queued.next++,
        type,
        json,
        deadline: Date.now() + this.ctx.sendTimeout,
        resolve,
        reject,
      });
      this.pump(queued);
    });
  }

  /** True when messages to `sid` are still on their way (a local send must queue behind them). */
  busy(sid: string): boolean {
    return (this.channels.get(sid)?.pending.length ?? 0) > 0;
  }

  /** Owner side: a `send` message arrived for one of our sessions. */
  receive(message: SendMessage): void {
    const session = this.ctx.session(message.sid);
    const answer: SentMessage =
      session !== undefined && session.state === 'open'
        ? { op: 'sent', sid: message.sid, ch: message.ch, ...this.apply(session, message) }
        : { op: 'retry', sid: message.sid, ch: message.ch }; // moving, or not here (yet)
    this.ctx.engine
      .publish(message.from, JSON.stringify(answer))
      .catch((error: unknown) => this.ctx.failed('sendTo answer', error));
  }

  /** Origin side: the owner answered. */
  answered(answer: SentMessage): void {
    this.answers.get(answer.ch)?.(answer);
  }

  /** Applies the sends a parked session received (its inbox) once it is live here. */
  applyInbox(session: ServerSession<never, unknown>, inbox: readonly string[]): void {
    for (const raw of inbox) {
      const message = parseSend(raw);
      if (message !== null) this.apply(session, message);
    }
  }

  /** What a session's record carries: the channels' positions (recent ones only). */
  export(sid: string): RemotePositions {
    const out: RemotePositions = {};
    const cutoff = Date.now() - 2 * this.ctx.sendTimeout - IDLE_MS;
    for (const [ch, position] of this.positions.get(sid) ?? []) {
      if (position[1] >= cutoff) out[ch] = position;
    }
    return out;
  }

  import(sid: string, positions: unknown): void {
    if (typeof positions !== 'object' || positions === null) return;
    const map = new Map<string, [number, number]>();
    for (const [ch, value] of Object.entries(positions as Record<string, unknown>)) {
      if (Array.isArray(value) && typeof value[0] === 'number' && typeof value[1] === 'number') {
        map.set(ch, [value[0], value[1]]);
      }
    }
    if (map.size > 0) this.positions.set(sid, map);
  }

  forget(sid: string): void {
    this.positions.delete(sid);
  }

  /** Retries every queue (the store is back). */
  resume(): void {
    for (const channel of this.channels.values()) this.pump(channel);
  }

  close(): void {
    clearInterval(this.sweep);
    for (const channel of this.channels.values()) clearTimeout(channel.timer);
  }

  // --- internals -----------------------------------------------------------

  /** Appends the items not appended yet, in order; returns how far it got. */
  private apply(
    session: ServerSession<never, unknown>,
    message: SendMessage,
  ): { upTo: number; failed: number[] } {
    let channels = this.positions.get(session.id);
    if (channels === undefined) this.positions.set(session.id, (channels = new Map()));
    let last = channels.get(message.ch)?.[0] ?? 0;
    const failed: number[] = [];
    for (const [seq, type, json] of message.items) {
      if (seq <= last) continue; // appended before: an answer was lost, or a move
      if (seq !== last + 1) break;
      try {
        session.emit(type, json, undefined, false);
      } catch (error) {
        if (!(error instanceof QueueFullError)) throw error;
        failed.push(seq);
      }
      last = seq;
    }
    channels.set(message.ch, [last, Date.now()]);
    return { upTo: last, failed };
  }

  private pump(channel: Channel): void {
    if (channel.busy || channel.pending.length === 0) return;
    clearTimeout(channel.timer);
    channel.timer = undefined;
    channel.lastUsed = Date.now();
    const local = this.ctx.session(channel.sid);
    if (local !== undefined && local.state === 'open') {
      // The session is here now: append in order, through the same positions.
      const message = this.message(channel);
      this.settle(channel, {
        op: 'sent',
        sid: channel.sid,
        ch: channel.id,
        ...this.apply(local, message),
      });
      return;
    }
    channel.busy = true;
    void this.route(channel).then((progress) => {
      channel.busy = false;
      this.expire(channel);
      if (channel.pending.length === 0) return;
      channel.retryMs = progress ? 20 : Math.min(channel.retryMs * 2, 1_000);
      channel.timer = setTimeout(() => this.pump(channel), progress ? 0 : channel.retryMs);
      channel.timer.unref?.();
    });
  }

  /** One attempt: through the store to the owner (or the inbox). Resolves true when something was confirmed. */
  private async route(channel: Channel): Promise<boolean> {
    const message = this.message(channel);
    let answer: Promise<SentMessage | null> | null = null;
    try {
      answer = this.awaitAnswer(channel.id);
      const routed = await this.ctx.engine.send(
        this.ctx.nodeId,
        channel.sid,
        JSON.stringify(message),
      );
      if (routed.kind === 'missing' && routed.settling) {
        this.cancelAnswer(channel.id);
        return false;
      }
      if (routed.kind === 'missing') {
        this.cancelAnswer(channel.id);
        this.failAll(channel, notFound(channel.sid));
        return true;
      }
      if (routed.kind === 'queued') {
        this.cancelAnswer(channel.id);
        this.settle(channel, {
          op: 'sent',
          sid: channel.sid,
          ch: channel.id,
          upTo: message.items.at(-1)![0],
        });
        return true;
      }
      const got = await answer;
      if (got === null || got.op === 'retry') return false;
      return this.settle(channel, got);
    } catch (error) {
      this.cancelAnswer(channel.id);
      this.ctx.failed('sendTo', error);
      return false;
    }
  }

  private message(channel: Channel): SendMessage {
    return {
      op: 'send',
      from: this.ctx.nodeId,
      sid: channel.sid,
      ch: channel.id,
      items: channel.pending.map((p): Item => [p.seq, p.type, p.json]),
    };
  }

  /** Resolves (or rejects, over maxUnacked) the messages up to `upTo`. True when any was settled. */
  private settle(channel: Channel, answer: SentMessage): boolean {
    const upTo = answer.upTo ?? 0;
    const failed = new Set(answer.failed ?? []);
    let settled = false;
    while (channel.pending.length > 0 && channel.pending[0]!.seq <= upTo) {
      const done = channel.pending.shift()!;
      settled = true;
      if (failed.has(done.seq)) {
        done.reject(
          new QueueFullError(
            0,
            `session ${channel.sid} is over maxUnacked: '${done.type}' not sent`,
          ),
        );
      } else {
        this.ctx.sentRemotely();
        done.resolve();
      }
    }
    return settled;
  }

  private awaitAnswer(ch: string): Promise<SentMessage | null> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.answers.delete(ch);
        resolve(null);
      }, ANSWER_MS);
      this.answers.set(ch, (answer) => {
        clearTimeout(timer);
        this.answers.delete(ch);
        resolve(answer);
      });
    });
  }

  private cancelAnswer(ch: string): void {
    this.answers.get(ch)?.({ op: 'retry', sid: '', ch });
  }

  /** Rejects what waited longer than `sendTimeout`. */
  private expire(channel: Channel): void {
    const now = Date.now();
    while (channel.pending.length > 0 && channel.pending[0]!.deadline <= now) {
      channel.pending
        .shift()!
        .reject(
          new RxwireError(
            ErrorCode.ClusterUnavailable,
            `session ${channel.sid} could not be reached within ${this.ctx.sendTimeout} ms (the cluster store or its node does not answer)`,
          ),
        );
    }
  }

  private failAll(channel: Channel, error: Error): void {
    for (const pending of channel.pending.splice(0)) pending.reject(error);
    this.channels.delete(channel.sid);
  }

  private forgetIdle(): void {
    const now = Date.now();
    for (const [sid, channel] of this.channels) {
      if (channel.pending.length === 0 && !channel.busy && now - channel.lastUsed > IDLE_MS) {
        this.channels.delete(sid);
      }
    }
    const cutoff = now - 2 * this.ctx.sendTimeout - IDLE_MS;
    for (const [sid, channels] of this.positions) {
      for (const [ch, [, at]] of channels) if (at < cutoff) channels.delete(ch);
      if (channels.size === 0) this.positions.delete(sid);
    }
  }
}

/** Reads a `send` message; null when it is not one. */
export function parseSend(raw: string): SendMessage | null {
  try {
    return asSend(JSON.parse(raw));
  } catch {
    return null;
  }
}

/** A parsed `send` message, or null when it is not one. */
export function asSend(value: unknown): SendMessage | null {
  const m = value as Partial<SendMessage> | null;
  if (
    m === null ||
    typeof m !== 'object' ||
    m.op !== 'send' ||
    typeof m.from !== 'string' ||
    typeof m.sid !== 'string' ||
    typeof m.ch !== 'string' ||
    !Array.isArray(m.items)
  ) {
    return null;
  }
  return m as SendMessage;
}

export type { SendMessage, SentMessage };
