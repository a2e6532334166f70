import { Observable } from 'rxjs';
import type { AudioChunk } from '../src/audio/types.js';
import {
  ErrorCode,
  ProtocolError,
  RxwireTypeError,
  readAudioFrame,
  Router,
} from '../src/protocol/index.js';
import { Fanout } from '../src/protocol/fanout.js';
import { StreamTracker, type SessionAudioStats, type AudioStreamStats } from './audio-stats.js';
import type { BinaryHandler } from './connection-types.js';

/**
 * Sample memory for received chunks: slices of Node's Buffer pool (8-byte
 * aligned, no zero-fill), about three times cheaper than a fresh ArrayBuffer
 * per 20 ms frame. See `Session.audio$` on what sharing the pool means.
 */
const pooledBytes = (byteLength: number): Uint8Array => Buffer.allocUnsafe(byteLength);

const NO_STREAMS: ReadonlyMap<number, AudioStreamStats> = new Map();

/**
 * The default binary handler of the server core: decodes each binary frame as
 * an audio frame and hands it to its session. A frame that does not decode
 * gets `$error` RXWIRE_BAD_BINARY_FRAME saying why; the connection stays up.
 */
export const receiveAudioFrame: BinaryHandler = (data, session, reject) => {
  let chunk: AudioChunk;
  try {
    chunk = readAudioFrame(data, pooledBytes);
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
 * The audio side of one session beyond `audio$` (which the session keeps
 * itself): one route per stream id, the per-stream sequence accounting and
 * `stats$`. Made on a session's first audio frame (or `audioStream`,
 * `audioStats$`); its parts are made on first use too. Routes and trackers
 * are bounded by `maxStreams`; a frame allocates nothing here beyond a stats
 * snapshot, and that only while `stats$` has subscribers.
 */
export class SessionAudio {
  private routes: Router<number, AudioChunk> | undefined = undefined;
  private trackers: Map<number, StreamTracker> | undefined = undefined;
  private changes: Fanout<SessionAudioStats> | undefined = undefined;
  private statsStream: Observable<SessionAudioStats> | undefined = undefined;
  private overLimit = 0;
  private rejected = 0;
  private ended = false;
  private snapshot: SessionAudioStats | null = null;

  constructor(private readonly maxStreams: number) {}

  /** The current stats at once, then after every change; completes at `end()`. */
  get stats$(): Observable<SessionAudioStats> {
    return (this.statsStream ??= new Observable<SessionAudioStats>((subscriber) => {
      subscriber.next(this.stats);
      if (this.ended) subscriber.complete();
      else (this.changes ??= new Fanout<SessionAudioStats>()).subscribe(subscriber);
    }));
  }

  /** Current stats, an immutable snapshot rebuilt only after something changed. */
  get stats(): SessionAudioStats {
    if (this.snapshot === null) {
      let streams = NO_STREAMS;
      if (this.trackers !== undefined && this.trackers.size > 0) {
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
    if (this.routes === undefined) {
      this.routes = new Router<number, AudioChunk>();
      if (this.ended) this.routes.complete();
    }
    return this.routes.observe(streamId);
  }

  /**
   * Accounts for and delivers one decoded chunk: stats first (so a subscriber
   * reading them sees this chunk counted), then `all` (the session's
   * `audio$`), then the stream's route. Returns why the chunk was refused, or null.
   */
  deliver(chunk: AudioChunk, all: Fanout<AudioChunk> | undefined): string | null {
    if (this.ended) return null;
    const streamId = chunk.streamId ?? 0;
    const trackers = (this.trackers ??= new Map());
    const tracker = trackers.get(streamId);
    if (tracker) {
      tracker.record(chunk.seq, chunk.timestamp);
    } else if (trackers.size >= this.maxStreams) {
      this.rejected += 1;
      this.changed();
      return `too many audio streams: stream ${streamId} would be number ${this.maxStreams + 1} (maxAudioStreams is ${this.maxStreams}); frame dropped`;
    } else {
      trackers.set(streamId, new StreamTracker(streamId, chunk.seq, chunk.timestamp));
    }
    this.changed();
    all?.next(chunk);
    this.routes?.dispatch(streamId, chunk);
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
    this.routes?.complete();
    this.changes?.end();
  }

  private changed(): void {
    this.snapshot = null;
    if (this.changes?.observed) this.changes.next(this.stats);
  }
}
