/** One sent envelope the peer has not acknowledged yet. */
interface Entry<T> {
  seq: number;
  value: T;
  /** Called once when the peer acknowledges it (confirmed sends). */
  onAck: (() => void) | undefined;
}

/** Delivery counters, as client state and server sessions report them. */
export interface DeliveryStats {
  /** Sent (or waiting to be sent) but not yet acknowledged by the peer. */
  unacked: number;
  /** Envelopes sent again after a resume. */
  resent: number;
  /** Envelopes from the peer dropped because they had already been delivered. */
  duplicates: number;
}

/** After this many deliveries without an outgoing frame to carry the ack, `$ack` goes out at once. */
export const ACK_EVERY = 64;
/**
 * Otherwise an ack for an envelope marked `ackSoon` waits at most this long,
 * in ms, for an outgoing frame to ride on.
 */
export const ACK_DELAY_MS = 20;
/**
 * An ack for envelopes not marked `ackSoon` may wait this long, in ms. A lone
 * `$ack` costs each side a system call and a frame to parse; a broadcast
 * reaching each client every few ms would otherwise cost one `$ack` per
 * message. What the sender keeps meanwhile is bounded by {@link ACK_EVERY}.
 */
export const ACK_LAZY_MS = 250;

/** What {@link Sequencer.receive} decided about an inbound sequence number. */
export type Receipt = 'deliver' | 'duplicate' | 'gap';

/**
 * Both halves of exactly-once, in-order delivery for one session, on either
 * side of the wire. Outbound: numbers envelopes 1, 2, 3, ... and keeps each
 * until a cumulative `ack` covers it, so a resumed session can resend what the
 * peer missed. Inbound: delivers each peer `seq` once, in order, drops repeats,
 * and remembers what to acknowledge.
 */
export class Sequencer<T> {
  /** Next outbound sequence number. */
  nextSeq = 1;
  /** Highest outbound number the peer acknowledged. */
  peerAck = 0;
  /** Highest inbound number delivered in order. */
  received = 0;
  /** The last `ack` value sent to the peer. */
  ackSent = 0;
  resent = 0;
  duplicates = 0;
  // Unacknowledged values are consecutive: values[head] has seq peerAck + 1.
  // No object per message; confirmation callbacks live in a map, only when used.
  private values: Array<T | undefined> = [];
  private head = 0;
  private callbacks: Map<number, () => void> | undefined;

  /** Numbers `value` and keeps it until acknowledged; returns its `seq`. */
  push(value: T, onAck?: () => void): number {
    const seq = this.nextSeq++;
    this.values.push(value);
    if (onAck !== undefined) (this.callbacks ??= new Map()).set(seq, onAck);
    return seq;
  }

  /** Envelopes sent but not yet acknowledged. */
  get unacked(): number {
    return this.values.length - this.head;
  }

  /**
   * Applies a cumulative ack: forgets every entry up to `ack` and calls their
   * `onAck`. Returns false when `ack` names a number never sent, or is not an
   * integer (a broken peer), and changes nothing.
   */
  acknowledge(ack: number, forget?: (value: T) => void): boolean {
    if (!Number.isSafeInteger(ack)) return false;
    if (ack <= this.peerAck) return true;
    if (ack >= this.nextSeq) return false;
    const values = this.values;
    const callbacks = this.callbacks;
    let head = this.head;
    for (let seq = this.peerAck + 1; seq <= ack; seq++) {
      const value = values[head] as T;
      values[head++] = undefined;
      forget?.(value);
      if (callbacks !== undefined && callbacks.size > 0) {
        const onAck = callbacks.get(seq);
        if (onAck !== undefined) {
          callbacks.delete(seq);
          onAck();
        }
      }
    }
    this.peerAck = ack;
    if (head === values.length) {
      this.values = [];
      this.head = 0;
    } else if (head > 1024 && head * 2 > values.length) {
      this.values = values.slice(head);
      this.head = 0;
    } else {
      this.head = head;
    }
    return true;
  }

  /** What is still unacknowledged, oldest first, with seq and confirmation callback. */
  pending(): Array<Entry<T>> {
    const out: Array<Entry<T>> = [];
    for (let i = this.head, seq = this.peerAck + 1; i < this.values.length; i++, seq++) {
      out.push({ seq, value: this.values[i] as T, onAck: this.callbacks?.get(seq) });
    }
    return out;
  }

  /** Decides what to do with an inbound `seq`, and counts it when delivered or repeated. */
  receive(seq: number): Receipt {
    if (seq === this.received + 1) {
      this.received = seq;
      return 'deliver';
    }
    if (seq <= this.received) {
      this.duplicates++;
      return 'duplicate';
    }
    return 'gap';
  }

  /** True when something was received since the last ack sent. */
  get ackDue(): boolean {
    return this.received > this.ackSent;
  }

  /** True when so much is unacknowledged that a standalone `$ack` should go out now. */
  get ackOverdue(): boolean {
    return this.received - this.ackSent >= ACK_EVERY;
  }

  /** The value to send as `ack` now, marking it sent. */
  takeAck(): number {
    this.ackSent = this.received;
    return this.received;
  }

  /** Starts a new session: numbering and receipts restart, counters are kept. Returns what was pending. */
  reset(): Array<Entry<T>> {
    const pending = this.pending();
    this.values = [];
    this.head = 0;
    this.callbacks = undefined;
    this.nextSeq = 1;
    this.peerAck = 0;
    this.received = 0;
    this.ackSent = 0;
    return pending;
  }

  stats(): DeliveryStats {
    return { unacked: this.unacked, resent: this.resent, duplicates: this.duplicates };
  }
}
