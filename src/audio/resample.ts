import { Observable, type OperatorFunction } from 'rxjs';
import { ErrorCode, RxwireTypeError } from '../protocol/errors.js';
import { float32ToPcm16 } from './to-pcm16.js';
import type { AudioChunk } from './types.js';

/** Options of {@link resample}. */
export interface ResampleConfig {
  /** Output sample rate in Hz (a positive integer). */
  rate: number;
  /**
   * Cut-off (-6 dB point) of the anti-aliasing low-pass filter, as a fraction
   * of the lower of the two Nyquist frequencies. With the defaults, going to
   * 16 kHz is flat to about 6.5 kHz and everything from 8 kHz up (what would
   * alias) is at least 64 dB down.
   * @default 0.9 // 7.2 kHz when going to 16 kHz
   */
  rolloff?: number;
  /**
   * Zero crossings of the sinc on each side of the filter centre: longer
   * filters have a steeper transition band, cost proportionally more and hold
   * back more samples. `{ zeroCrossings: 32, kaiserBeta: 8.6 }` gives about
   * 100 dB of stop-band attenuation at twice the cost.
   * @default 16
   */
  zeroCrossings?: number;
  /**
   * Kaiser window shape: higher means more stop-band attenuation and a wider
   * transition band.
   * @default 6
   */
  kaiserBeta?: number;
}

/** Above this many polyphase rows, phases are interpolated from a 256-row table. */
const MAX_EXACT_PHASES = 256;

/**
 * Converts a stream of chunks to another sample rate with a band-limited
 * (Kaiser-windowed sinc, polyphase) filter, so going down from 48 kHz to
 * 16 kHz does not fold the content above 8 kHz back into the audible band.
 * Works up and down, for any integer rates and any channel count.
 *
 * The filter keeps its history and fractional phase between chunks: the output
 * of a stream does not depend on how the input was chunked, and nothing is
 * lost or repeated at chunk boundaries. It is centred (zero phase: no time
 * shift), so it holds back about `zeroCrossings / rolloff` samples (about 1.1 ms
 * going to 16 kHz with the defaults) until more input arrives; when the source
 * completes the tail is flushed, for `ceil(inputFrames * rate / inputRate)`
 * output frames in all. A change of `sampleRate`, `channels` or `streamId`
 * mid-stream flushes the old segment and starts a fresh filter.
 *
 * Each output chunk has the sample type of the input chunk that produced it
 * (PCM16 in, PCM16 out, rounded and clipped; float in, float out), `seq`
 * numbered 0, 1, 2… by this operator, and the `timestamp` of its first output
 * sample derived from the input timestamps. Input already at `rate` passes
 * through with only `seq` renumbered. Input chunks that complete no output
 * sample produce no output chunk.
 *
 * @example
 * ```ts
 * fromMicrophone().pipe(resample(16000), toPcm16(), frames(20)).subscribe(client.audio);
 * ```
 */
export function resample(rate: number): OperatorFunction<AudioChunk, AudioChunk>;
export function resample(config: ResampleConfig): OperatorFunction<AudioChunk, AudioChunk>;
export function resample(
  rateOrConfig: number | ResampleConfig,
): OperatorFunction<AudioChunk, AudioChunk> {
  const config = typeof rateOrConfig === 'number' ? { rate: rateOrConfig } : rateOrConfig;
  const { rate, rolloff = 0.9, zeroCrossings = 16, kaiserBeta = 6 } = config;
  if (!Number.isInteger(rate) || rate <= 0) invalid(`rate must be a positive integer, got ${rate}`);
  if (!(rolloff > 0 && rolloff <= 1)) invalid(`rolloff must be in (0, 1], got ${rolloff}`);
  if (!Number.isInteger(zeroCrossings) || zeroCrossings < 1 || zeroCrossings > 256) {
    invalid(`zeroCrossings must be an integer in [1, 256], got ${zeroCrossings}`);
  }
  if (!(kaiserBeta >= 0)) invalid(`kaiserBeta must be >= 0, got ${kaiserBeta}`);
  const design = { rolloff, zeroCrossings, kaiserBeta };

  return (source) =>
    new Observable<AudioChunk>((subscriber) => {
      let seq = 0;
      let state: Resampler | null = null;
      const emit = (out: Output | null) => {
        if (out) subscriber.next({ ...out, seq: seq++ });
      };
      const sub = source.subscribe({
        next: (chunk) => {
          const { sampleRate, channels } = chunk;
          if (state && !state.accepts(chunk)) {
            emit(state.flush());
            state = null;
          }
          if (sampleRate === rate) {
            const out: AudioChunk = { ...chunk, seq: seq++ };
            subscriber.next(out);
            return;
          }
          if (!state) {
            if (!Number.isInteger(sampleRate) || sampleRate <= 0 || !(channels >= 1)) {
              subscriber.error(
                new RxwireTypeError(
                  ErrorCode.InvalidOption,
                  `resample: chunk has sampleRate ${sampleRate} and channels ${channels}`,
                ),
              );
              return;
            }
            state = new Resampler(sampleRate, rate, channels, chunk.streamId, design);
          }
          emit(state.push(chunk));
        },
        error: (e: unknown) => subscriber.error(e),
        complete: () => {
          if (state) emit(state.flush());
          state = null;
          subscriber.complete();
        },
      });
      return sub;
    });
}

function invalid(message: string): never {
  throw new RxwireTypeError(ErrorCode.InvalidOption, `resample: ${message}`);
}

type Output = Omit<AudioChunk, 'seq'>;

interface Design {
  rolloff: number;
  zeroCrossings: number;
  kaiserBeta: number;
}

/**
 * One segment's filter state. Positions are in input frames (one sample per
 * channel) from the segment's first sample; the output sample n sits at input
 * position n * M / L, tracked exactly as `ipos + num / L`.
 */
class Resampler {
  private readonly L: number;
  private readonly M: number;
  /** Half the filter length, in input frames: taps span ipos-W+1 .. ipos+W. */
  private readonly W: number;
  private readonly taps: number;
  /** Polyphase rows of `taps` coefficients; `rows` of them (+1 when interpolating). */
  private readonly table: Float64Array;
  private readonly rows: number;
  private readonly interpolate: boolean;
  /** Interleaved history; buf frame 0 is input frame `bufStart`. */
  private buf: Float32Array;
  private bufStart: number;
  private bufLen = 0;
  /** Input frames received in this segment. */
  private received = 0;
  private ipos = 0;
  private num = 0;
  /** Timestamps of recent input chunks: [first frame, timestamp] pairs. */
  private anchors: number[] = [];
  private lastWasInt16 = false;

  constructor(
    private readonly inRate: number,
    private readonly outRate: number,
    private readonly channels: number,
    private readonly streamId: number | undefined,
    design: Design,
  ) {
    const g = gcd(inRate, outRate);
    this.L = outRate / g;
    this.M = inRate / g;
    const fc = design.rolloff * Math.min(1, outRate / inRate);
    this.W = Math.ceil(design.zeroCrossings / fc);
    this.taps = 2 * this.W;
    this.interpolate = this.L > MAX_EXACT_PHASES;
    this.rows = this.interpolate ? MAX_EXACT_PHASES : this.L;
    this.table = buildTable(this.rows + (this.interpolate ? 1 : 0), this.rows, this.W, fc, design);
    this.buf = new Float32Array(Math.max(4096, this.taps * 2) * channels);
    // Zeros before the first sample so the first outputs have a full history.
    this.bufStart = -(this.W - 1);
    this.bufLen = this.W - 1;
  }

  accepts(chunk: AudioChunk): boolean {
    return (
      chunk.sampleRate === this.inRate &&
      chunk.channels === this.channels &&
      chunk.streamId === this.streamId
    );
  }

  push(chunk: AudioChunk): Output | null {
    const { samples } = chunk;
    const ch = this.channels;
    const frames = Math.floor(samples.length / ch);
    this.lastWasInt16 = samples instanceof Int16Array;
    this.anchors.push(this.received, chunk.timestamp);
    this.reserve(frames);
    const at = this.bufLen * ch;
    const n = frames * ch;
    const buf = this.buf;
    if (samples instanceof Int16Array) {
      for (let i = 0; i < n; i++) buf[at + i] = samples[i]! / 32768;
    } else {
      buf.set(samples.subarray(0, n), at);
    }
    this.bufLen += frames;
    this.received += frames;
    // An output needs input up to ipos + W, the last frame received is received - 1.
    return this.produce(this.received - 1 - this.W);
  }

  /** Emits the held-back tail, treating the input after the end as silence. */
  flush(): Output | null {
    if (this.received === 0) return null;
    this.reserve(this.W);
    this.buf.fill(0, this.bufLen * this.channels, (this.bufLen + this.W) * this.channels);
    this.bufLen += this.W;
    return this.produce(this.received - 1);
  }

  /** Produces every output whose `ipos` is at most `lastIpos`. */
  private produce(lastIpos: number): Output | null {
    const { L, M, channels: ch, taps, W } = this;
    // Count first so the output is allocated once.
    let count = 0;
    {
      let ip = this.ipos;
      let nu = this.num;
      while (ip <= lastIpos) {
        count++;
        nu += M;
        ip += Math.floor(nu / L);
        nu %= L;
      }
    }
    if (count === 0) return null;
    const firstPos = this.ipos + this.num / L;
    const timestamp = this.timestampAt(firstPos);
    const out = new Float32Array(count * ch);
    const { buf, table, interpolate, rows } = this;
    for (let o = 0; o < count; o++) {
      const base = (this.ipos - W + 1 - this.bufStart) * ch;
      if (!interpolate) {
        const row = this.num * taps;
        for (let c = 0; c < ch; c++) {
          out[o * ch + c] = dot(table, row, buf, base + c, ch, taps);
        }
      } else {
        const p = (this.num / L) * rows;
        const r = Math.floor(p);
        const f = p - r;
        const row0 = r * taps;
        const row1 = row0 + taps;
        for (let c = 0; c < ch; c++) {
          const a0 = dot(table, row0, buf, base + c, ch, taps);
          const a1 = dot(table, row1, buf, base + c, ch, taps);
          out[o * ch + c] = a0 + (a1 - a0) * f;
        }
      }
      this.num += M;
      this.ipos += Math.floor(this.num / L);
      this.num %= L;
    }
    this.discard(this.ipos - W + 1);
    const result: Output = {
      samples: this.lastWasInt16 ? float32ToPcm16(out) : out,
      sampleRate: this.outRate,
      channels: ch,
      timestamp,
    };
    if (this.streamId !== undefined) result.streamId = this.streamId;
    return result;
  }

  /** Time of input position `pos`, from the latest input chunk that starts at or before it. */
  private timestampAt(pos: number): number {
    const a = this.anchors;
    let i = a.length - 2;
    while (i > 0 && a[i]! > pos) i -= 2;
    return a[i + 1]! + ((pos - a[i]!) * 1000) / this.inRate;
  }

  /** Drops history before input frame `from`, and anchors no longer needed. */
  private discard(from: number): void {
    const drop = from - this.bufStart;
    if (drop <= 0) return;
    const ch = this.channels;
    this.buf.copyWithin(0, drop * ch, this.bufLen * ch);
    this.bufLen -= drop;
    this.bufStart = from;
    const a = this.anchors;
    let keep = 0;
    while (keep + 2 < a.length && a[keep + 2]! <= this.ipos) keep += 2;
    if (keep > 0) a.splice(0, keep);
  }

  private reserve(frames: number): void {
    const need = (this.bufLen + frames) * this.channels;
    if (need <= this.buf.length) return;
    const grown = new Float32Array(Math.max(need, this.buf.length * 2));
    grown.set(this.buf.subarray(0, this.bufLen * this.channels));
    this.buf = grown;
  }
}

/** The filter's inner loop: `taps` coefficients from `row` against every `stride`-th sample from `at`. */
function dot(
  table: Float64Array,
  row: number,
  buf: Float32Array,
  at: number,
  stride: number,
  taps: number,
): number {
  let acc = 0;
  for (let j = 0; j < taps; j++) acc += table[row + j]! * buf[at + j * stride]!;
  return acc;
}

/**
 * Row p holds the coefficients for the fractional phase p / phases: tap j
 * weighs input frame ipos - W + 1 + j, at distance (W - 1 - j + phase) from
 * the output position. Each row is normalised to unit DC gain.
 */
function buildTable(
  rowCount: number,
  phases: number,
  W: number,
  fc: number,
  { kaiserBeta }: Design,
): Float64Array {
  const taps = 2 * W;
  const table = new Float64Array(rowCount * taps);
  const i0beta = besselI0(kaiserBeta);
  for (let p = 0; p < rowCount; p++) {
    const phase = p / phases;
    let sum = 0;
    for (let j = 0; j < taps; j++) {
      const t = W - 1 - j + phase;
      const x = t / W;
      let h = 0;
      if (Math.abs(x) <= 1) {
        const arg = Math.PI * fc * t;
        const sinc = t === 0 ? 1 : Math.sin(arg) / arg;
        h = fc * sinc * (besselI0(kaiserBeta * Math.sqrt(1 - x * x)) / i0beta);
      }
      table[p * taps + j] = h;
      sum += h;
    }
    for (let j = 0; j < taps; j++) table[p * taps + j] = table[p * taps + j]! / sum;
  }
  return table;
}

/** Modified Bessel function of the first kind, order 0 (power series). */
function besselI0(x: number): number {
  let sum = 1;
  let term = 1;
  const q = (x * x) / 4;
  for (let k = 1; k < 200; k++) {
    term *= q / (k * k);
    sum += term;
    if (term < sum * 1e-17) break;
  }
  return sum;
}

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}
