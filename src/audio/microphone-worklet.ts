/** Name under which the microphone processor is registered in the AudioWorkletGlobalScope. */
export const MICROPHONE_PROCESSOR_NAME = 'rxwire-microphone';

/** What the processor expects in `processorOptions`. */
export interface MicrophoneProcessorOptions {
  /** Output rate; equal to the context's rate means no resampling. */
  targetRate: number;
  /** Samples per channel in each posted frame, at `targetRate`. */
  frameSamples: number;
  /** Output channels, interleaved (1 = downmix to mono). */
  channels: number;
}

/** What the processor posts for each frame (the buffer is transferred). */
export interface MicrophoneProcessorMessage {
  /** `frameSamples * channels` interleaved samples in [-1, 1]. */
  samples: Float32Array;
  /** Context time (seconds) of the frame's first sample. */
  time: number;
}

/**
 * Source of the AudioWorklet module that `fromMicrophone` loads (through a Blob
 * URL unless a `workletUrl` is given). Serve it as a `.js` file to run under a
 * Content Security Policy without `blob:`.
 *
 * It is plain JavaScript in a string because it runs in the
 * AudioWorkletGlobalScope, not in the page's bundle. The processor downmixes
 * (or picks) channels, resamples from the context rate to `targetRate` with a
 * Kaiser-windowed sinc (polyphase table, exact for rational ratios up to 1024
 * phases, interpolated between phases beyond), and posts frames of exactly
 * `frameSamples` samples per channel, stamped with the context time of their
 * first sample. An absent input (a muted or ended track) counts as silence so
 * timestamps stay continuous.
 */
export const microphoneWorkletSource = String.raw`'use strict';
// Zero crossings of the sinc on each side, Kaiser beta (~80 dB stopband), and the
// cutoff as a fraction of the output Nyquist (leaves room for the transition band).
const ZERO_CROSSINGS = 16;
const KAISER_BETA = 7.9;
const ROLLOFF = 0.85;
const MAX_PHASES = 1024;

function gcd(a, b) {
  while (b) {
    const t = a % b;
    a = b;
    b = t;
  }
  return a;
}

function besselI0(x) {
  let sum = 1;
  let term = 1;
  for (let k = 1; k < 50; k++) {
    term *= (x / (2 * k)) * (x / (2 * k));
    sum += term;
    if (term < sum * 1e-12) break;
  }
  return sum;
}

// A streaming resampler for one channel. Output sample n sits at input position
// n * step (step = inRate / outRate = M / L), tracked as an integer index plus
// a phase numerator in [0, L) so it never drifts.
class Resampler {
  constructor(inRate, outRate) {
    const g = gcd(inRate, outRate);
    this.L = outRate / g;
    this.M = inRate / g;
    this.phases = Math.min(this.L, MAX_PHASES);
    const fc = 0.5 * Math.min(1, outRate / inRate) * ROLLOFF; // cycles per input sample
    this.half = Math.ceil(ZERO_CROSSINGS / (2 * fc));
    const taps = 2 * this.half;
    this.taps = taps;
    // Row p is the kernel for fraction p / phases; row phases (= fraction 1) lets
    // interpolation run past the last phase. Each row sums to 1 (unity DC gain).
    this.table = new Float32Array((this.phases + 1) * taps);
    const i0beta = besselI0(KAISER_BETA);
    for (let p = 0; p <= this.phases; p++) {
      const frac = p / this.phases;
      let sum = 0;
      for (let j = 0; j < taps; j++) {
        const d = j - this.half + 1 - frac; // distance from the output position, in input samples
        const x = 2 * fc * d;
        const sinc = x === 0 ? 1 : Math.sin(Math.PI * x) / (Math.PI * x);
        const r = d / this.half;
        const w = r * r >= 1 ? 0 : besselI0(KAISER_BETA * Math.sqrt(1 - r * r)) / i0beta;
        const v = 2 * fc * sinc * w;
        this.table[p * taps + j] = v;
        sum += v;
      }
      for (let j = 0; j < taps; j++) this.table[p * taps + j] /= sum;
    }
    // half - 1 zeros of history put output 0 exactly on input sample 0.
    this.buf = new Float32Array(4096);
    this.len = this.half - 1;
    this.pos = this.half - 1;
    this.num = 0;
  }

  // Most outputs one push of n input samples can produce.
  capacity(n) {
    return Math.ceil((n * this.L) / this.M) + 1;
  }

  // Appends input; writes every output sample that has enough future input into
  // out (at least capacity(input.length) long) and returns how many.
  push(input, out) {
    if (this.len + input.length > this.buf.length) {
      const bigger = new Float32Array(Math.max(this.buf.length * 2, this.len + input.length));
      bigger.set(this.buf.subarray(0, this.len));
      this.buf = bigger;
    }
    this.buf.set(input, this.len);
    this.len += input.length;
    const { L, M, taps, half, table, phases, buf } = this;
    let n = 0;
    while (this.pos + half < this.len) {
      const base = this.pos - half + 1;
      let acc = 0;
      if (phases === L) {
        const row = this.num * taps;
        for (let j = 0; j < taps; j++) acc += buf[base + j] * table[row + j];
      } else {
        const x = (this.num * phases) / L;
        const p = Math.floor(x);
        const a = x - p;
        const r0 = p * taps;
        const r1 = r0 + taps;
        for (let j = 0; j < taps; j++) {
          acc += buf[base + j] * (table[r0 + j] + a * (table[r1 + j] - table[r0 + j]));
        }
      }
      out[n++] = acc;
      this.num += M;
      this.pos += Math.floor(this.num / L);
      this.num %= L;
    }
    // Keep only the history the next output needs.
    const drop = Math.min(this.pos - half + 1, this.len);
    if (drop > 0) {
      this.buf.copyWithin(0, drop, this.len);
      this.len -= drop;
      this.pos -= drop;
    }
    return n;
  }
}

class RxwireMicrophoneProcessor extends AudioWorkletProcessor {
  constructor(options) {
    super();
    const o = options.processorOptions;
    this.channels = o.channels;
    this.frameSamples = o.frameSamples;
    this.targetRate = o.targetRate;
    this.resamplers = [];
    if (o.targetRate !== sampleRate) {
      for (let c = 0; c < o.channels; c++) this.resamplers.push(new Resampler(sampleRate, o.targetRate));
    }
    this.scratch = [];
    for (let c = 0; c < o.channels; c++) this.scratch.push(new Float32Array(0));
    this.mono = new Float32Array(0);
    this.silence = new Float32Array(0);
    this.frame = new Float32Array(this.frameSamples * this.channels);
    this.filled = 0;
    this.posted = 0;
    this.startTime = -1;
    this.running = true;
    this.port.onmessage = (event) => {
      if (event.data === 'stop') this.running = false;
    };
  }

  process(inputs) {
    if (!this.running) return false;
    const input = inputs[0] || [];
    const length = input.length > 0 ? input[0].length : 128;
    if (this.startTime < 0) this.startTime = currentFrame / sampleRate;
    let ready = 0;
    for (let c = 0; c < this.channels; c++) ready = this.convert(c, this.pick(c, input, length));
    this.append(ready);
    return true;
  }

  // The input for output channel c: silence, a mono downmix, or a (repeated) input channel.
  pick(c, input, length) {
    if (input.length === 0) {
      if (this.silence.length !== length) this.silence = new Float32Array(length);
      return this.silence;
    }
    if (this.channels === 1 && input.length > 1) {
      if (this.mono.length !== length) this.mono = new Float32Array(length);
      const mono = this.mono;
      mono.fill(0);
      for (const ch of input) for (let i = 0; i < length; i++) mono[i] += ch[i];
      for (let i = 0; i < length; i++) mono[i] /= input.length;
      return mono;
    }
    return input[Math.min(c, input.length - 1)];
  }

  // Resamples channel c into its scratch buffer; returns the sample count (the same for every channel).
  convert(c, channel) {
    const resampler = this.resamplers[c];
    const need = resampler ? resampler.capacity(channel.length) : channel.length;
    if (this.scratch[c].length < need) this.scratch[c] = new Float32Array(need);
    if (resampler) return resampler.push(channel, this.scratch[c]);
    this.scratch[c].set(channel);
    return channel.length;
  }

  // Interleaves ready samples into the frame; posts each full frame (transferring its buffer).
  append(ready) {
    const channels = this.channels;
    let i = 0;
    while (i < ready) {
      const n = Math.min(ready - i, this.frameSamples - this.filled);
      for (let c = 0; c < channels; c++) {
        const from = this.scratch[c];
        for (let k = 0; k < n; k++) this.frame[(this.filled + k) * channels + c] = from[i + k];
      }
      this.filled += n;
      i += n;
      if (this.filled === this.frameSamples) {
        const time = this.startTime + (this.posted * this.frameSamples) / this.targetRate;
        this.port.postMessage({ samples: this.frame, time }, [this.frame.buffer]);
        this.posted++;
        this.frame = new Float32Array(this.frameSamples * channels);
        this.filled = 0;
      }
    }
  }
}

registerProcessor('rxwire-microphone', RxwireMicrophoneProcessor);
`;
