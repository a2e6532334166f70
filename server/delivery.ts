// A session's delivery state: sequence numbers both ways, the frames sent and
// not yet acknowledged (kept for resending), and the ack owed to the client.
// Live, it is a Sequencer tuned for the per-message path; `toRecord()` and
// `Delivery.fromRecord()` turn it into plain data and back, which is what a
// session carries when it moves to another node (see handover.ts).
import { ACK_DELAY_MS, Sequencer } from '../src/protocol/index.js';

/**
 * The delivery state of one session as plain, JSON-serializable data.
 * `unacked[i]` is the encoded frame with sequence number `peerAck + 1 + i`,
 * exactly as it was first sent (same `id`, `seq` and timestamp), so a resend
 * from any node is byte for byte the original.
 */
export interface DeliveryRecord {
  /** Next outbound sequence number. */
  nextSeq: number;
  /** Highest outbound number the client acknowledged. */
  peerAck: number;
  /** Highest inbound (client) number delivered in order: the server's ack. */
  received: number;
  /** Frames sent and not yet acknowledged, oldest first. */
  unacked: string[];
  /** Counters: frames resent after resumes, client frames dropped as repeats. */
  resent: number;
  duplicates: number;
}

/** What the ack tick asks of its session (see {@link Delivery.startAckTick}). */
export interface AckSink {
  /** Sends the ack owed to the client, if any, on a lone `$ack`. */
  sendDueAck(delivery: Delivery): void;
  /** True while a connection carries the session (no tick runs without one). */
  readonly connected: boolean;
}

/** A session's delivery state: the shared {@link Sequencer} plus what the server adds to it. */
export class Delivery extends Sequencer<string> {
  /** Bytes of the frames kept for resending. */
  unackedBytes = 0;
  /** Sends a standalone `$ack` when no outgoing frame carried one in time. */
  ackTimer: ReturnType<typeof setTimeout> | undefined = undefined;
  /** A client frame arrived since the ack tick last ran. */
  ackActivity = false;

  /** Rebuilds the live state from a record (validated by the caller, see handover.ts). */
  static fromRecord(record: DeliveryRecord): Delivery {
    const delivery = new Delivery();
    delivery.peerAck = record.peerAck;
    delivery.nextSeq = record.peerAck + 1;
    for (const frame of record.unacked) {
      delivery.push(frame);
      delivery.unackedBytes += frame.length;
    }
    delivery.received = record.received;
    // The `$welcome` of the resume carries `received`: nothing more is owed.
    delivery.ackSent = record.received;
    delivery.resent = record.resent;
    delivery.duplicates = record.duplicates;
    return delivery;
  }

  /** The state as plain data (confirmation callbacks and timers stay behind). */
  toRecord(): DeliveryRecord {
    return {
      nextSeq: this.nextSeq,
      peerAck: this.peerAck,
      received: this.received,
      unacked: this.pending().map((entry) => entry.value),
      resent: this.resent,
      duplicates: this.duplicates,
    };
  }

  /**
   * An ack owed to the client goes out within ACK_DELAY_MS: on an outgoing
   * frame if there is one, else as a lone `$ack` from a tick that runs every
   * ACK_DELAY_MS while client frames keep arriving. The tick re-arms its one
   * Timeout (`refresh()`) instead of making a timer every few messages, and
   * is dropped after a quiet period, so an idle session holds no timer.
   */
  startAckTick(sink: AckSink): void {
    const timer = setTimeout(() => {
      sink.sendDueAck(this);
      if (this.ackActivity && sink.connected && this.ackTimer === timer) {
        this.ackActivity = false;
        timer.refresh();
      } else if (this.ackTimer === timer) {
        this.ackTimer = undefined;
      }
    }, ACK_DELAY_MS);
    timer.unref?.();
    this.ackTimer = timer;
    this.ackActivity = false;
  }

  stopAckTimer(): void {
    if (this.ackTimer !== undefined) {
      clearTimeout(this.ackTimer);
      this.ackTimer = undefined;
    }
  }
}
