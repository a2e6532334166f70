/**
 * What the server has seen of one audio stream (one stream id) of a session.
 * Counts only grow, except `lost`, which a late frame filling a gap decrements.
 * Sequence numbers are u32 and compared modulo 2^32 (serial-number arithmetic),
 * so a stream that wraps from 4294967295 to 0 just continues.
 *
 * Accounting identity, always true:
 * `received - duplicates - stale + lost === span` where `span` is the number
 * of sequence numbers from `firstSeq` to `lastSeq` inclusive (mod 2^32).
 */
export interface AudioStreamStats {
  readonly streamId: number;
  /** Frames of this stream decoded and delivered, every one (duplicates and stale ones too). */
  readonly received: number;
  /**
   * Sequence numbers skipped and not (yet) received: a frame `d` ahead of
   * `lastSeq` adds `d - 1`; a late frame that fills one of those gaps takes one off.
   * Gaps more than {@link AUDIO_SEQ_WINDOW} behind `lastSeq` stay counted.
   */
  readonly lost: number;
  /** Late frames (behind `lastSeq`) that filled a counted gap; each took one off `lost`. */
  readonly reordered: number;
  /** Frames whose sequence number was already received (tracked for the last {@link AUDIO_SEQ_WINDOW}). */
  readonly duplicates: number;
  /**
   * Frames too far behind to account for: more than {@link AUDIO_SEQ_WINDOW}
   * behind `lastSeq`, before `firstSeq`, or 2^31 or more ahead (which mod 2^32 is behind).
   * They change no other count but `received`.
   */
  readonly stale: number;
  /** Sequence number of the stream's first frame in this session: nothing before it counts as lost. */
  readonly firstSeq: number;
  /** Highest sequence number received so far (mod 2^32). */
  readonly lastSeq: number;
  /** Capture timestamp of the frame that set `lastSeq`, ms since the epoch. */
  readonly lastTimestamp: number;
}

/**
 * Audio statistics of one session, as `session.audioStats` and
 * `session.audioStats$` give them. Stats for a stream start with its first
 * frame and never reset within a session (a new session starts from nothing).
 */
export interface SessionAudioStats {
  /** Per stream id, in order of first appearance. */
  readonly streams: ReadonlyMap<number, AudioStreamStats>;
  /**
   * Binary frames dropped undecoded because the connection was over its audio
   * budget (`rateLimit.audioFrames`). The client is not told; its streams show gaps.
   */
  readonly overLimit: number;
  /** Binary frames answered with `$error` RXWIRE_BAD_BINARY_FRAME (undecodable, or over `maxAudioStreams`). */
  readonly rejected: number;
}

/** How many sequence numbers behind the highest one a stream remembers, to tell gap fills from duplicates. */
export const AUDIO_SEQ_WINDOW = 1024;
const WORDS = AUDIO_SEQ_WINDOW / 32;

/**
 * Sequence accounting for one stream: a ring bitmap of which of the last
 * {@link AUDIO_SEQ_WINDOW} sequence numbers arrived, and the counters. Fixed
 * size; recording a frame allocates nothing.
 */
export class StreamTracker {
  received = 0;
  lost = 0;
  reordered = 0;
  duplicates = 0;
  stale = 0;
  lastSeq: number;
  lastTimestamp: number;
  readonly firstSeq: number;
  private readonly seen = new Uint32Array(WORDS);
  private snapshot: AudioStreamStats | null = null;

  constructor(
    readonly streamId: number,
    seq: number,
    timestamp: number,
  ) {
    this.firstSeq = seq;
    this.lastSeq = seq;
    this.lastTimestamp = timestamp;
    this.received = 1;
    this.mark(seq);
  }

  /** Accounts for one more frame of this stream. */
  record(seq: number, timestamp: number): void {
    this.received += 1;
    this.snapshot = null;
    // Signed distance mod 2^32: positive is ahead of lastSeq.
    const d = (seq - this.lastSeq) | 0;
    if (d > 0) {
      this.lost += d - 1;
      if (d >= AUDIO_SEQ_WINDOW) this.seen.fill(0);
      else for (let s = (this.lastSeq + 1) >>> 0; s !== seq; s = (s + 1) >>> 0) this.unmark(s);
      this.mark(seq);
      this.lastSeq = seq;
      this.lastTimestamp = timestamp;
      return;
    }
    const sinceFirst = (seq - this.firstSeq) | 0;
    if (-d >= AUDIO_SEQ_WINDOW || sinceFirst < 0) {
      this.stale += 1;
    } else if (this.isMarked(seq)) {
      this.duplicates += 1;
    } else {
      this.mark(seq);
      this.reordered += 1;
      this.lost -= 1;
    }
  }

  /** An immutable copy, cached until the next frame. */
  stats(): AudioStreamStats {
    this.snapshot ??= Object.freeze({
      streamId: this.streamId,
      received: this.received,
      lost: this.lost,
      reordered: this.reordered,
      duplicates: this.duplicates,
      stale: this.stale,
      firstSeq: this.firstSeq,
      lastSeq: this.lastSeq,
      lastTimestamp: this.lastTimestamp,
    });
    return this.snapshot;
  }

  private mark(seq: number): void {
    const bit = seq % AUDIO_SEQ_WINDOW;
    this.seen[bit >>> 5]! |= 1 << (bit & 31);
  }

  private unmark(seq: number): void {
    const bit = seq % AUDIO_SEQ_WINDOW;
    this.seen[bit >>> 5]! &= ~(1 << (bit & 31));
  }

  private isMarked(seq: number): boolean {
    const bit = seq % AUDIO_SEQ_WINDOW;
    return (this.seen[bit >>> 5]! & (1 << (bit & 31))) !== 0;
  }
}
