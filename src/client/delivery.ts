import type { SchedulerAction, SchedulerLike, Subscription } from 'rxjs';
import {
  Control,
  ErrorCode,
  RxwireError,
  ACK_DELAY_MS,
  ACK_LAZY_MS,
  Sequencer,
  encodeEnvelope,
  isReservedType,
  isSequenced,
  type Envelope,
  type Logger,
  type ResumeRequest,
  type WelcomePayload,
} from '../protocol/index.js';
import type { Link } from './attempt.js';
import type { Outbox } from './outbox.js';
import type { RequestRegistry } from './requests.js';

/** A confirmed send waiting for the server's ack. */
interface Confirmation {
  resolve(): void;
  reject(error: unknown): void;
}

/** What delivery needs from the client around it. */
export interface DeliveryHost {
  readonly scheduler: SchedulerLike;
  readonly logger: Logger;
  /** Most messages in flight (`maxUnacked`). */
  readonly maxUnacked: number;
  readonly outbox: Outbox<Envelope>;
  readonly requests: RequestRegistry;
  /** The open link, if any. */
  link(): Link | undefined;
  /** A fresh envelope id. */
  nextId(): string;
  /** ISO-8601 now, on the scheduler's clock. */
  timestamp(): string;
  /** The queue size changed. */
  queued(size: number): void;
  /** The server acknowledged something it was never sent. */
  brokenAck(error: RxwireError): void;
}

/** What {@link ClientDelivery.welcome} decided about a `$welcome`. */
export interface WelcomeOutcome {
  /** The previous session was resumed: nothing lost, nothing repeated. */
  resumed: boolean;
  /** Envelopes sent again because the server had not acknowledged them. */
  resent: number;
  /** The session before this one, when there was one. */
  previous: string | undefined;
}

/**
 * The client's half of exactly-once delivery: it numbers what it sends,
 * keeps it until the server's cumulative ack covers it, resends it on resume,
 * drops server frames it has already delivered, owes the server acks (riding
 * on outgoing frames, or a lone `$ack` within ACK_LAZY_MS, ACK_DELAY_MS for
 * a frame marked `ackSoon`), pumps the
 * offline queue while `maxUnacked` leaves room, and settles confirmed sends.
 */
export class ClientDelivery {
  /** Sequencing and acks for the current session. */
  readonly seq = new Sequencer<Envelope>();
  /** Whether the server acknowledges (its `$welcome` offered a resume token). */
  reliable = false;
  /** The session to resume on the next connection. */
  session: { id: string; token: string } | undefined;
  private readonly confirms = new Map<Envelope, Confirmation>();
  /** Confirmed sends that were rejected while sent: a new session does not resend them. */
  private abandoned: ReadonlySet<Envelope> | undefined;
  private ackTimer: Subscription | undefined;
  /** When the armed ack tick runs (scheduler time). */
  private ackAt = 0;
  /** A frame arrived since the ack tick last ran (see scheduleAck). */
  private ackActivity = false;

  constructor(private readonly host: DeliveryHost) {}

  /** Confirmed sends waiting for an ack. */
  get confirming(): number {
    return this.confirms.size;
  }

  // ---- sending ---------------------------------------------------------------

  /** Sends on the open link, or queues. Returns true when it went out now. */
  submit(envelope: Envelope): boolean {
    const link = this.host.link();
    if (link !== undefined && this.host.outbox.size === 0 && this.hasRoom() && link.isOpen()) {
      this.transmit(envelope, link);
      return true;
    }
    this.host.outbox.push(envelope);
    this.host.queued(this.host.outbox.size);
    return false;
  }

  /**
   * A control frame: unsequenced ones (`$pong`) go out on `link` only;
   * `$error` and `$cancel` are sequenced like messages, so they are delivered
   * once across a resume.
   */
  control(envelope: Envelope, link: Link | undefined): void {
    if (!isSequenced(envelope.type)) {
      link?.send(encodeEnvelope(envelope));
      return;
    }
    if (this.reliable || this.session !== undefined) this.submit(envelope);
    else link?.send(encodeEnvelope(envelope));
  }

  /** Sends queued envelopes while the server's acks leave room in the window. */
  pump(link: Link): void {
    const { outbox } = this.host;
    while (outbox.size > 0 && this.hasRoom()) {
      this.transmit(outbox.shift()!, link);
    }
  }

  private hasRoom(): boolean {
    return !this.reliable || this.seq.unacked < this.host.maxUnacked;
  }

  /** Numbers (when the server acks) and sends one envelope on `link`. */
  private transmit(envelope: Envelope, link: Link): void {
    if (this.reliable) envelope.seq = this.seq.push(envelope);
    this.write(envelope, link);
    if (envelope.request) this.host.requests.markSent(envelope.id);
  }

  /** Writes one envelope, with its seq and a fresh ack when one is due. */
  private write(envelope: Envelope, link: Link): void {
    // A resent envelope may carry an older ack; acks are cumulative, so that is harmless.
    if (this.reliable && this.seq.ackDue) envelope.ack = this.seq.takeAck();
    link.send(encodeEnvelope(envelope));
  }

  // ---- confirmed sends -------------------------------------------------------

  /** Waits for the server's ack of `envelope` (call before submitting it). */
  confirm(envelope: Envelope, confirmation: Confirmation): void {
    this.confirms.set(envelope, confirmation);
  }

  /** Forgets the confirmation of `envelope` (it settled). */
  forget(envelope: Envelope): void {
    this.confirms.delete(envelope);
  }

  /** Resolves (no error) or rejects the confirmation waiting on `envelope`, if any. */
  settleConfirm(envelope: Envelope, error?: unknown): void {
    const confirmation = this.confirms.get(envelope);
    if (confirmation === undefined) return;
    if (error === undefined) confirmation.resolve();
    else confirmation.reject(error);
  }

  /**
   * Rejects every confirmed send with `error`. Those still queued leave the
   * queue, and those sent but unacknowledged are not resent to a later
   * session: their callers were told they failed and decide what to do.
   */
  failConfirms(error: unknown): void {
    if (this.confirms.size === 0) return;
    const failed = new Set(this.confirms.keys());
    for (const envelope of failed) this.host.outbox.remove(envelope.id);
    this.abandoned = failed;
    for (const envelope of failed) this.settleConfirm(envelope, error);
  }

  // ---- receiving -------------------------------------------------------------

  /** Applies the server's cumulative ack; false when it acknowledges something never sent. */
  acknowledge(ack: number): boolean {
    return this.seq.acknowledge(
      ack,
      this.confirms.size === 0 ? undefined : (envelope) => this.settleConfirm(envelope),
    );
  }

  /** Applies the server's cumulative `ack`; one for a frame never sent is reported as a broken ack. */
  private applyAck(ack: number, from: string): boolean {
    if (this.acknowledge(ack)) return true;
    this.host.brokenAck(
      new RxwireError(ErrorCode.BadEnvelope, `${from} acknowledged ${ack}, never sent`),
    );
    return false;
  }

  /** An ack arrived on `link` (on any frame): pumps the queue when it made room. */
  onAck(ack: number, link: Link): void {
    if (!this.reliable || !this.applyAck(ack, 'the server')) return;
    if (this.host.outbox.size > 0) {
      this.pump(link);
      this.host.queued(this.host.outbox.size);
    }
  }

  /**
   * Admits one inbound envelope: `'deliver'` it, drop a `'duplicate'` already
   * delivered, or a `'gap'` (cannot happen on one TCP stream: the caller
   * closes the socket so that resuming makes the server resend).
   */
  receive(envelope: Envelope, link: Link): 'deliver' | 'duplicate' | 'gap' {
    if (envelope.ack !== undefined) this.onAck(envelope.ack, link);
    if (envelope.seq === undefined || !this.reliable || !isSequenced(envelope.type)) {
      return 'deliver';
    }
    const receipt = this.seq.receive(envelope.seq);
    if (receipt === 'gap') {
      this.host.logger.warn('rxwire: sequence gap, reconnecting to resume', {
        seq: envelope.seq,
        received: this.seq.received,
      });
      return 'gap';
    }
    this.scheduleAck(link, envelope.ackSoon === true);
    return receipt;
  }

  // ---- sessions --------------------------------------------------------------

  /** What `$hello` carries to resume the previous session. */
  resumeRequest(): ResumeRequest | undefined {
    const session = this.session;
    if (session === undefined) return undefined;
    return { sessionId: session.id, token: session.token, ack: this.seq.received };
  }

  /**
   * A `$welcome` on `link`: resumes the previous session (resending what the
   * server missed, before anything queued) or starts a new one, then pumps
   * the queue.
   */
  welcome(link: Link, welcome: WelcomePayload): WelcomeOutcome {
    const previous = this.session?.id;
    const resumed = welcome.resumed === true && previous === welcome.sessionId && this.reliable;
    let resent = 0;
    if (resumed) {
      if (typeof welcome.ack === 'number') this.applyAck(welcome.ack, "the server's $welcome");
      this.seq.ackSent = this.seq.received; // our $hello carried it
      // Flush before announcing `connected`, so a send() made in a state$
      // callback cannot overtake what the server missed or what waited.
      const pending = this.seq.pending();
      this.seq.resent += pending.length;
      resent = pending.length;
      for (const { value } of pending) this.write(value, link);
    } else {
      this.startSession(previous !== undefined);
    }
    this.reliable = typeof welcome.resumeToken === 'string';
    this.session = this.reliable
      ? { id: welcome.sessionId, token: welcome.resumeToken! }
      : undefined;
    this.pump(link);
    return { resumed, resent, previous };
  }

  /**
   * The server started a new session (the first, or the old one was not
   * resumed). Sequencing restarts; what the old session never acknowledged is
   * sent again (at-least-once across a server restart), except requests it
   * had accepted, which cannot complete and error with RXWIRE_SESSION_LOST,
   * and confirmed sends already rejected.
   */
  private startSession(hadSession: boolean): void {
    const pending = this.seq.reset();
    const abandoned = this.abandoned;
    this.abandoned = undefined;
    const again: Envelope[] = [];
    for (const { value } of pending) {
      delete value.seq;
      delete value.ack;
      // failed below / a stale $cancel or $error / its caller was told it failed
      if (value.request || !isSequencedApp(value) || abandoned?.has(value)) continue;
      again.push(value);
    }
    if (hadSession) {
      this.host.requests.failSent(undefined, ErrorCode.SessionLost);
      this.host.logger.warn('rxwire: the server did not resume the session', {
        resending: again.length,
      });
    }
    this.host.outbox.unshift(again);
  }

  /** The client stopped: the next connection starts a new session. */
  endSession(): void {
    this.session = undefined;
  }

  // ---- acks ------------------------------------------------------------------

  /**
   * An ack owed to the server goes out on an outgoing frame if there is one,
   * else as a lone `$ack`: within ACK_DELAY_MS of an envelope marked
   * `ackSoon`, within ACK_LAZY_MS of any other, at once after ACK_EVERY. The
   * tick reschedules itself every ACK_LAZY_MS while frames keep arriving (rxjs
   * then reuses its interval), so a busy connection does not create and cancel
   * a timer every few messages; it stops after a quiet period. Lazy acks spare
   * a server that broadcasts often one `$ack` read per delivery.
   */
  private scheduleAck(link: Link, soon: boolean): void {
    if (this.seq.ackOverdue) {
      this.flushAck(link);
      return;
    }
    this.ackActivity = true;
    const { scheduler } = this.host;
    const delay = soon ? ACK_DELAY_MS : ACK_LAZY_MS;
    if (this.ackTimer !== undefined) {
      if (!soon || this.ackAt <= scheduler.now() + delay) return;
      this.ackTimer.unsubscribe(); // an ackSoon envelope: the lazy tick is too far off
    }
    // rxjs returns the action itself, which the tick reschedules.
    this.ackTimer = scheduler.schedule(() => this.ackTick(link), delay);
    this.ackAt = scheduler.now() + delay;
    this.ackActivity = false;
  }

  private ackTick(link: Link): void {
    this.flushAck(link, false);
    if (this.ackActivity && this.host.link() === link && this.ackTimer !== undefined) {
      this.ackActivity = false;
      (this.ackTimer as SchedulerAction<unknown>).schedule(undefined, ACK_LAZY_MS);
      this.ackAt = this.host.scheduler.now() + ACK_LAZY_MS;
    } else {
      this.ackTimer = undefined;
    }
  }

  /** Sends a lone `$ack` if one is due; `stopTick` also ends the ack tick (an overdue ack, a dropped link). */
  private flushAck(link: Link, stopTick = true): void {
    if (stopTick) this.stopAcks();
    if (this.host.link() !== link || !this.seq.ackDue) return;
    link.send(
      encodeEnvelope({
        type: Control.Ack,
        id: this.host.nextId(),
        payload: null,
        timestamp: this.host.timestamp(),
        ack: this.seq.takeAck(),
      }),
    );
  }

  /** The link is gone: no lone acks until the next one. */
  stopAcks(): void {
    this.ackTimer?.unsubscribe();
    this.ackTimer = undefined;
  }
}

/** Sequenced and sent by the app (a message or request), not a control frame. */
function isSequencedApp(envelope: Envelope): boolean {
  return !isReservedType(envelope.type);
}
