import { BehaviorSubject, Observable, Subject } from 'rxjs';
import type { AudioChunk } from '../audio/types.js';
import { writeAudioFrame } from '../protocol/index.js';
import type { Link } from './attempt.js';

/** Counters of one audio stream, or of all of them. */
export interface AudioCounts {
  /** Chunks sent as binary frames. */
  sent: number;
  /** Chunks dropped because the client was not connected (audio is never queued). */
  droppedOffline: number;
  /** Chunks dropped because the socket's send buffer held more than `audio.highWaterMarkMs` of audio. */
  droppedBackpressure: number;
  /** Chunks that could not be encoded (inconsistent fields); reported on `errors$`. */
  invalid: number;
}

/** What `client.audioStats$` emits: totals, and the same counts per stream id. */
export interface AudioStats extends AudioCounts {
  /** Bytes of binary frames sent. */
  bytesSent: number;
  streams: Readonly<Record<number, Readonly<AudioCounts>>>;
}

/** Real-time audio send policy. */
export interface AudioOptions {
  /**
   * The most audio, in ms of the chunk's own format, that may wait in the socket's
   * send buffer (`bufferedAmount`); past it chunks are dropped and counted rather
   * than queued, so latency stays bounded when the network or server falls behind.
   * @default 500
   */
  highWaterMarkMs?: number;
}

/**
 * `client.audio`: a Subject that outlives the streams piped into it. A
 * microphone stream that completes (track ended) or errors (device lost) ends
 * that stream only; the next `fromMicrophone().subscribe(client.audio)` works.
 * Errors are reported, not rethrown. Only `dispose()` completes it.
 *
 * Every chunk goes to the sender first, by a direct call (no subscription to
 * walk at 50 chunks a second per stream), then to whoever subscribes.
 */
export class AudioInput extends Subject<AudioChunk> {
  constructor(
    private readonly sink: (chunk: AudioChunk) => void,
    private readonly onSourceError: (error: unknown) => void,
  ) {
    super();
  }

  override next(chunk: AudioChunk): void {
    if (this.isStopped) return;
    this.sink(chunk);
    if (this.observed) super.next(chunk);
  }

  /** A source stream completed: nothing to do, the input stays open. */
  override complete(): void {}

  /** A source stream failed: report it; the input stays open. */
  override error(error: unknown): void {
    this.onSourceError(error);
  }

  /** Ends the input for good (client disposed). */
  close(): void {
    super.complete();
  }
}

/**
 * Frame memory: in Node, `Buffer.allocUnsafe` (pooled, not zero-filled; and
 * `ws` masks a Buffer into its own frame instead of in place, in one write);
 * elsewhere a plain `Uint8Array`. The sender never reuses a frame.
 */
const NodeBuffer = (globalThis as { Buffer?: { allocUnsafe(size: number): Uint8Array } }).Buffer;
const allocateFrame: (byteLength: number) => Uint8Array =
  NodeBuffer !== undefined
    ? (byteLength) => NodeBuffer.allocUnsafe(byteLength)
    : (byteLength) => new Uint8Array(byteLength);

const zero = (): AudioCounts => ({
  sent: 0,
  droppedOffline: 0,
  droppedBackpressure: 0,
  invalid: 0,
});

/**
 * Sends audio chunks as binary frames, in real time: a chunk that cannot go out
 * now (offline, or too much audio already buffered) is dropped and counted,
 * never queued, so memory and latency stay bounded.
 */
export class AudioSender {
  private readonly totals = { ...zero(), bytesSent: 0 };
  private readonly perStream = new Map<number, AudioCounts>();
  private readonly subject: BehaviorSubject<AudioStats>;
  readonly stats$: Observable<AudioStats>;

  /** Counts changed while nobody watched `stats$`: refresh on the next subscription. */
  private stale = false;

  constructor(
    private readonly highWaterMarkMs: number,
    private readonly onInvalid: (error: unknown) => void,
  ) {
    this.subject = new BehaviorSubject<AudioStats>(this.snapshot());
    // Snapshots cost an allocation per frame; build them only for a watcher.
    this.stats$ = new Observable<AudioStats>((subscriber) => {
      if (this.stale) {
        this.stale = false;
        this.subject.next(this.snapshot());
      }
      return this.subject.subscribe(subscriber);
    });
  }

  send(chunk: AudioChunk, link: Link | undefined): void {
    const stream = this.stream(chunk.streamId ?? 0);
    if (!link?.isOpen()) {
      this.count(stream, 'droppedOffline');
    } else if (link.socket.bufferedAmount > this.highWaterMarkBytes(chunk)) {
      this.count(stream, 'droppedBackpressure');
    } else {
      let frame: Uint8Array;
      try {
        frame = writeAudioFrame(chunk, allocateFrame);
      } catch (error) {
        this.count(stream, 'invalid');
        this.onInvalid(error);
        return;
      }
      link.send(frame);
      this.totals.bytesSent += frame.byteLength;
      this.count(stream, 'sent');
    }
  }

  complete(): void {
    this.subject.complete();
  }

  private highWaterMarkBytes(chunk: AudioChunk): number {
    const bytesPerSecond = chunk.sampleRate * chunk.channels * chunk.samples.BYTES_PER_ELEMENT;
    return (bytesPerSecond * this.highWaterMarkMs) / 1000;
  }

  private stream(id: number): AudioCounts {
    let counts = this.perStream.get(id);
    if (!counts) this.perStream.set(id, (counts = zero()));
    return counts;
  }

  private count(stream: AudioCounts, key: keyof AudioCounts): void {
    stream[key]++;
    this.totals[key]++;
    if (this.subject.observed) this.subject.next(this.snapshot());
    else this.stale = true;
  }

  private snapshot(): AudioStats {
    const streams: Record<number, AudioCounts> = {};
    for (const [id, counts] of this.perStream) streams[id] = { ...counts };
    return { ...this.totals, streams };
  }
}
