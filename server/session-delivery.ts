// The delivery half of a session (the base of `ServerSession`): what runs
// per message. Sending numbers each frame and keeps it until the client's
// cumulative ack covers it (bounded by `maxUnacked`), confirmed sends resolve
// on that ack; receiving admits each client `seq` once, in order, and owes
// the client acks (on an outgoing frame, or a lone `$ack` from the tick in
// delivery.ts). The state itself, as a plain record, is `Delivery`.
import {
  CloseCode,
  ErrorCode,
  QueueFullError,
  RxwireError,
  isReservedType,
  RxwireTypeError,
  type PayloadOf,
  type Protocol,
  type ServerType,
} from '../src/protocol/index.js';
import { Delivery } from './delivery.js';
import { ackFrame, frameWithPayload, payloadJson } from './frames.js';
import type { ResolvedOptions } from './resolve-options.js';
import { LinkedSession, type SessionLink } from './session-link.js';
import type { SessionDelivery } from './session-types.js';

/** What sending and receiving need from the server. */
export interface DeliveryHost {
  readonly options: ResolvedOptions;
  readonly nextId: () => string;
  /** `send` on a session that moved away: deliver it wherever the session is now. */
  forward(sessionId: string, type: string, json: string): void;
}

/** Sending, confirmed sends and receiving, over the link half of a session. */
export abstract class DeliveringSession<P extends Protocol> extends LinkedSession {
  /** Sequencing and acks: made on the first message either way. */
  protected seqState: Delivery | undefined;

  constructor(
    link: SessionLink | null,
    protected readonly host: DeliveryHost,
    delivery: Delivery | undefined,
  ) {
    super(link);
    this.seqState = delivery;
  }

  /** Closes the session (see ServerSession.close). */
  abstract close(code?: number, reason?: string): void;

  get delivery(): SessionDelivery {
    return {
      ...(this.seqState?.stats() ?? { unacked: 0, resent: 0, duplicates: 0 }),
      unackedBytes: this.seqState?.unackedBytes ?? 0,
      received: this.received,
      resumes: this.rare?.resumes ?? 0,
    };
  }

  /** Client messages received in order: the ack this server gives. */
  get received(): number {
    return this.seqState?.received ?? 0;
  }

  protected get deliveryState(): Delivery | undefined {
    return this.seqState;
  }

  protected get seq(): Delivery {
    return (this.seqState ??= new Delivery());
  }

  // --- sending -------------------------------------------------------------

  send<K extends ServerType<P>>(type: K, payload: PayloadOf<P['server'], K>): void {
    assertSendable(type);
    if (this.current !== 'open') {
      if (this.moving) {
        // The session lives on another node now: follow it there.
        this.host.forward(this.id, type, payloadJson(payload));
        return;
      }
      this.host.options.logger.debug('send on a closed session dropped', {
        session: this.id,
        type,
      });
      return;
    }
    this.emit(type, payloadJson(payload), undefined, false);
  }

  sendConfirmed<K extends ServerType<P>>(
    type: K,
    payload: PayloadOf<P['server'], K>,
    options: { timeout?: number } = {},
  ): Promise<void> {
    assertSendable(type);
    if (this.current !== 'open') {
      return Promise.reject(
        this.moving
          ? new RxwireError(
              ErrorCode.SessionMoved,
              'the session moved to another node: use server.sendTo(session.id, ...)',
            )
          : new RxwireError(ErrorCode.SessionLost, 'the session is closed'),
      );
    }
    const json = payloadJson(payload);
    const confirmations = (this.rareState.confirmations ??= new Set());
    return new Promise<void>((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const fail = (error: RxwireError): void => {
        confirmations.delete(fail);
        if (timer !== undefined) clearTimeout(timer);
        reject(error);
      };
      confirmations.add(fail);
      if (options.timeout !== undefined) {
        timer = setTimeout(
          () =>
            fail(
              new RxwireError(
                ErrorCode.ConfirmTimeout,
                `'${type}' was not acknowledged within ${options.timeout} ms`,
              ),
            ),
          options.timeout,
        );
      }
      try {
        this.emit(type, json, undefined, false, () => {
          if (!confirmations.delete(fail)) return;
          if (timer !== undefined) clearTimeout(timer);
          resolve();
        });
      } catch (error) {
        fail(error as RxwireError);
      }
    });
  }

  /**
   * Sends one sequenced frame (kept until acknowledged, sent now when
   * connected). Over `maxUnacked` it throws `QueueFullError`, unless `force`
   * (the one frame that ends a request stream may exceed it).
   */
  emit(
    type: string,
    json: string,
    replyTo: string | undefined,
    force: boolean,
    onAck?: () => void,
  ): void {
    const { maxUnacked } = this.host.options;
    const seq = this.seq;
    const { unacked, unackedBytes } = seq;
    if (unacked >= maxUnacked.messages || unackedBytes >= maxUnacked.bytes) {
      if (!force) {
        throw new QueueFullError(
          maxUnacked.messages,
          `session ${this.id} has ${unacked} unacknowledged messages (${unackedBytes} bytes): over maxUnacked, '${type}' not sent`,
        );
      }
      // `$error`s and the ends of requests may exceed the bound, so that every
      // request ends; a client that keeps causing them without acknowledging
      // would grow the buffer forever. Past twice the bound the session ends.
      if (unacked >= 2 * maxUnacked.messages || unackedBytes >= 2 * maxUnacked.bytes) {
        this.host.options.logger.warn('client does not acknowledge, closing', {
          session: this.id,
          unacked,
          unackedBytes,
        });
        this.close(CloseCode.TooManyRequests, 'too many unacknowledged messages');
        return;
      }
    }
    const link = this.link;
    const ack = link !== null && seq.ackDue ? seq.received : undefined;
    // Clients ack lazily (ACK_LAZY_MS) unless a frame asks for it sooner: one
    // that is awaited, or any while a quarter of the unacked bound is in use.
    const ackSoon =
      onAck !== undefined ||
      unacked * 4 >= maxUnacked.messages ||
      unackedBytes * 4 >= maxUnacked.bytes
        ? true
        : undefined;
    const frame = frameWithPayload(
      type,
      this.host.nextId(),
      json,
      replyTo,
      seq.nextSeq,
      ack,
      ackSoon,
    );
    seq.push(frame, onAck);
    seq.unackedBytes += frame.length;
    if (link !== null) {
      if (ack !== undefined) seq.takeAck();
      link.send(frame);
    }
  }

  /** Sends an encoded payload (broadcast encodes it once). Returns false when closed or full. */
  sendJson(type: string, json: string): boolean {
    if (this.current !== 'open') return false;
    try {
      this.emit(type, json, undefined, false);
      return true;
    } catch {
      return false;
    }
  }

  // --- receiving -----------------------------------------------------------

  /** Applies the client's cumulative ack. False when it acknowledges something never sent. */
  acknowledged(ack: number): boolean {
    const seq = this.seqState;
    if (seq === undefined) return ack <= 0; // nothing was ever sent
    return seq.acknowledge(ack, (frame) => {
      seq.unackedBytes -= frame.length;
    });
  }

  /**
   * Admits one sequenced client envelope: true to deliver it, false for a
   * repeat (dropped) or a gap (the connection is closed 4400).
   */
  admit(seq: number): boolean {
    const delivery = this.seq;
    const receipt = delivery.receive(seq);
    if (receipt === 'gap') {
      this.link?.close(CloseCode.BadRequest, `sequence gap: got ${seq} after ${delivery.received}`);
      return false;
    }
    if (delivery.ackOverdue) {
      delivery.stopAckTimer();
      this.sendDueAck(delivery);
    } else {
      delivery.ackActivity = true;
      if (delivery.ackTimer === undefined) delivery.startAckTick(this);
    }
    return receipt === 'deliver';
  }

  /** Sends the ack owed to the client on a lone `$ack` (the ack tick's sink). */
  sendDueAck(delivery: Delivery): void {
    if (this.link !== null && delivery.ackDue) {
      this.link.send(ackFrame(this.host.nextId(), delivery.takeAck()));
    }
  }

  /** Rejects every confirmed send still waiting for the client's ack. */
  failConfirmations(error: RxwireError): void {
    const confirmations = this.rare?.confirmations;
    if (confirmations === undefined) return;
    for (const fail of [...confirmations]) fail(error);
  }
}

/** `send`/`broadcast` refuse reserved and empty type names. */
export function assertSendable(type: string): void {
  if (typeof type !== 'string' || type.length === 0 || isReservedType(type)) {
    throw new RxwireTypeError(
      ErrorCode.ReservedType,
      `cannot send type '${String(type)}': types starting with '$' are reserved for the protocol`,
    );
  }
}
