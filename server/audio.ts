import { Observable, Subject } from 'rxjs';
import type { AudioChunk } from '../src/audio/types.js';
import {
  ErrorCode,
  ProtocolError,
  RxwireTypeError,
  decodeAudioFrame,
  Router,
} from '../src/protocol/index.js';
import { StreamTracker, type SessionAudioStats, type AudioStreamStats } from './audio-stats.js';
import type { BinaryHandler } from './connection.js';

const NO_STREAMS: ReadonlyMap<number, AudioStreamStats> = new Map();

/**
 * The default binary handler of the server core: decodes each binary frame as
 * an audio frame and hands it to its session. A frame that does not decode
 * gets `$error` RXWIRE_BAD_BINARY_FRAME saying why; the connection stays up.
 */
export const receiveAudioFrame: BinaryHandler = (data, session, reject) => {
  let chunk: AudioChunk;
  try {
    chunk = decodeAudioFrame(data);
  } catch (error) {
    session.audioRejected();
    if (error instanceof ProtocolError) reject(error.code, error.message);
    else reject(ErrorCode.BadBinaryFrame, `undecodable audio frame: ${String(error)}`);
    return;
  }
  const problem = session.deliverAudio(chunk);
  if (problem !== null) reject(ErrorCode.BadBinaryFrame, problem);
};

/**
 * The audio side of one session: `audio$`, one route per stream id, and the
 * per-stream sequence accounting. Routes and trackers are bounded by
 * `maxStreams`; a frame allocates nothing here beyond a stats snapshot, and
 * that only while `stats$` has subscribers.
 */
export class SessionAudio {
  readonly audio$: Observable<AudioChunk>;
  readonly stats$: Observable<SessionAudioStats>;

  private readonly all = new Subject<AudioChunk>();
  private readonly routes = new Router<number, AudioChunk>();
  private readonly trackers = new Map<number, StreamTracker>();
  private readonly changes = new Subject<SessionAudioStats>();
  private overLimit = 0;
  private rejected = 0;
  private ended = false;
  private snapshot: SessionAudioStats | null = null;

  constructor(private readonly maxStreams: number) {
    this.audio$ = this.all.asObservable();
    this.stats$ = new Observable<SessionAudioStats>((subscriber) => {
      subscriber.next(this.stats);
      if (this.ended) {
        subscriber.complete();
        return;
      }
      return this.changes.subscribe(subscriber);
    });
  }

  /** Current stats, an immutable snapshot rebuilt only after something changed. */
  get stats(): SessionAudioStats {
    if (this.snapshot === null) {
      let streams = NO_STREAMS;
      if (this.trackers.size > 0) {
        const map = new Map<number, AudioStreamStats>();
        for (const [id, tracker] of this.trackers) map.set(id, tracker.stats());
        streams = map;
      }
      this.snapshot = Object.freeze({
        streams,
        overLimit: this.overLimit,
        rejected: this.rejected,
      });
    }
    return this.snapshot;
  }

  stream(streamId: number): Observable<AudioChunk> {
    if (!Number.isInteger(streamId) || streamId < 0 || streamId > 0xffffffff) {
      throw new RxwireTypeError(
        ErrorCode.InvalidOption,
        `audioStream: streamId must be an integer in [0, 4294967295] (got ${String(streamId)})`,
      );
    }
    return this.routes.observe(streamId);
  }

  /**
   * Accounts for and delivers one decoded chunk: stats first (so a subscriber
   * reading them sees this chunk counted), then `audio$`, then the stream's route.
   * Returns why the chunk was refused, or null.
   */
  deliver(chunk: AudioChunk): string | null {
    if (this.ended) return null;
    const streamId = chunk.streamId ?? 0;
    const tracker = this.trackers.get(streamId);
    if (tracker) {
      tracker.record(chunk.seq, chunk.timestamp);
    } else if (this.trackers.size >= this.maxStreams) {
      this.rejected += 1;
      this.changed();
      return `too many audio streams: stream ${streamId} would be number ${this.maxStreams + 1} (maxAudioStreams is ${this.maxStreams}); frame dropped`;
    } else {
      this.trackers.set(streamId, new StreamTracker(streamId, chunk.seq, chunk.timestamp));
    }
    this.changed();
    this.all.next(chunk);
    this.routes.dispatch(streamId, chunk);
    return null;
  }

  /** A binary frame was dropped undecoded, over the audio budget. */
  droppedOverLimit(): void {
    if (this.ended) return;
    this.overLimit += 1;
    this.changed();
  }

  /** A binary frame did not decode. */
  rejectedFrame(): void {
    if (this.ended) return;
    this.rejected += 1;
    this.changed();
  }

  /** The session is over: complete every stream. Stats stay readable. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.all.complete();
    this.routes.complete();
    this.changes.complete();
  }

  private changed(): void {
    this.snapshot = null;
    if (this.changes.observed) this.changes.next(this.stats);
  }
}
