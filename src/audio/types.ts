/**
 * One chunk of audio: what flows through the audio operators and into
 * `client.audio`, and what `session.audio$` emits on the server.
 */
export interface AudioChunk {
  /** Interleaved samples: PCM16 (`Int16Array`) or float in [-1, 1] (`Float32Array`). */
  samples: Int16Array | Float32Array;
  /** Samples per second per channel, for example 16000 or 48000. */
  sampleRate: number;
  /** Interleaved channel count (1 for mono). */
  channels: number;
  /** Sequence number within its stream, starting at 0 and +1 per chunk; gaps mean loss. */
  seq: number;
  /** Capture time of the first sample, in milliseconds since the Unix epoch. */
  timestamp: number;
  /** Which stream this chunk belongs to when one client sends several. @default 0 */
  streamId?: number;
}
