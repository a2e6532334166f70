// fromMicrophone in Node: the worklet processor run on synthetic input (its
// source evaluated with a fake AudioWorkletGlobalScope), and the main-thread
// side against stubbed browser globals (error mapping, constraints, teardown).
// The real-browser run is spec/browser/microphone.spec.ts.
import type { Subscription } from 'rxjs';
import {
  MicrophoneError,
  fromMicrophone,
  type MicrophoneOptions,
} from '../../src/audio/from-microphone';
import {
  MICROPHONE_PROCESSOR_NAME,
  microphoneWorkletSource,
  type MicrophoneProcessorMessage,
  type MicrophoneProcessorOptions,
} from '../../src/audio/microphone-worklet';
import type { AudioChunk } from '../../src/audio/types';
import { RxwireError, RxwireTypeError } from '../../src/protocol/errors';
import {
  FakeContext,
  FakeStream,
  fakes,
  setGlobal,
  useFakeMicrophone,
} from '../helpers/fake-microphone';

// ---------------------------------------------------------------------------
// The worklet processor

interface Processor {
  process(inputs: Float32Array[][]): boolean;
  port: { onmessage: ((event: { data: unknown }) => void) | null };
}

/** Evaluates the worklet source with a fake global scope at `rate` and builds the processor. */
function loadProcessor(rate: number, options: MicrophoneProcessorOptions) {
  const posted: MicrophoneProcessorMessage[] = [];
  const transferred: unknown[] = [];
  const scope = { currentFrame: 0 };
  let registered: { name: string; ctor: new (o: unknown) => Processor } | undefined;
  class AudioWorkletProcessor {
    port = {
      onmessage: null,
      postMessage: (message: MicrophoneProcessorMessage, transfer: unknown[]) => {
        posted.push(message);
        transferred.push(...transfer);
      },
    };
  }
  // currentFrame is a global getter in the real scope; here it reads the fake scope.
  const source = microphoneWorkletSource.replace(/\bcurrentFrame\b/g, 'scope.currentFrame');
  new Function('AudioWorkletProcessor', 'registerProcessor', 'sampleRate', 'scope', source)(
    AudioWorkletProcessor,
    (name: string, ctor: new (o: unknown) => Processor) => (registered = { name, ctor }),
    rate,
    scope,
  );
  if (!registered) throw new Error('the worklet registered no processor');
  const processor = new registered.ctor({ processorOptions: options });
  /** Feeds `seconds` of input, 128 frames per quantum, channel c from `signal(c, i)`. */
  const feed = (seconds: number, signal: (c: number, i: number) => number, inputChannels = 1) => {
    const total = Math.round(rate * seconds);
    for (let start = 0; start < total; start += 128) {
      const input = Array.from({ length: inputChannels }, (_, c) =>
        Float32Array.from({ length: 128 }, (_, k) => signal(c, start + k)),
      );
      scope.currentFrame = start;
      processor.process([input]);
    }
  };
  return { name: registered.name, processor, posted, transferred, scope, feed };
}

const tone =
  (hz: number, rate: number, amplitude = 0.5) =>
  (_c: number, i: number) =>
    amplitude * Math.sin((2 * Math.PI * hz * i) / rate);

/** Magnitude of the DFT of `x` at `hz` (an amplitude: a sine of amplitude A gives about A). */
function amplitudeAt(x: ArrayLike<number>, hz: number, rate: number): number {
  let re = 0;
  let im = 0;
  for (let i = 0; i < x.length; i++) {
    re += x[i]! * Math.cos((2 * Math.PI * hz * i) / rate);
    im -= x[i]! * Math.sin((2 * Math.PI * hz * i) / rate);
  }
  return (2 * Math.hypot(re, im)) / x.length;
}

const joined = (posted: MicrophoneProcessorMessage[]): Float32Array => {
  const out = new Float32Array(posted.reduce((n, m) => n + m.samples.length, 0));
  let at = 0;
  for (const m of posted) {
    out.set(m.samples, at);
    at += m.samples.length;
  }
  return out;
};

const db = (ratio: number): number => 20 * Math.log10(ratio);

describe('microphone worklet processor', () => {
  it('registers under the name fromMicrophone asks for', () => {
    const { name } = loadProcessor(48_000, { targetRate: 48_000, frameSamples: 960, channels: 1 });
    expect(name).toBe(MICROPHONE_PROCESSOR_NAME);
  });

  it('at the context rate passes samples through bit-exact, in frames of frameSamples, buffers transferred', () => {
    const p = loadProcessor(48_000, { targetRate: 48_000, frameSamples: 960, channels: 1 });
    const signal = tone(440, 48_000);
    p.feed(1, signal);
    expect(p.posted).toHaveLength(50);
    expect(p.posted.every((m) => m.samples.length === 960)).toBe(true);
    expect(Array.from(joined(p.posted))).toEqual(
      Array.from(Float32Array.from({ length: 48_000 }, (_, i) => signal(0, i))),
    );
    expect(p.transferred).toEqual(p.posted.map((m) => m.samples.buffer));
  });

  it('stamps each frame with the context time of its first sample', () => {
    const p = loadProcessor(48_000, { targetRate: 16_000, frameSamples: 320, channels: 1 });
    p.scope.currentFrame = 4800; // the first quantum arrives at context time 0.1 s
    const signal = tone(1000, 48_000);
    for (let start = 4800; start < 4800 + 48_000; start += 128) {
      p.scope.currentFrame = start;
      p.processor.process([[Float32Array.from({ length: 128 }, (_, k) => signal(0, start + k))]]);
    }
    p.posted.forEach((m, i) => expect(m.time).toBeCloseTo(0.1 + i * 0.02, 9));
  });

  it('resamples 48 kHz to 16 kHz: a 1 kHz tone keeps its level, 12 kHz is gone (≥ 60 dB down)', () => {
    const keep = loadProcessor(48_000, { targetRate: 16_000, frameSamples: 320, channels: 1 });
    keep.feed(1, tone(1000, 48_000));
    expect(keep.posted).toHaveLength(49); // the filter holds back its half-length of input
    expect(keep.posted.every((m) => m.samples.length === 320)).toBe(true);
    const kept = joined(keep.posted).subarray(1600, 14_400);
    expect(Math.abs(db(amplitudeAt(kept, 1000, 16_000) / 0.5))).toBeLessThan(0.05);
    // Output sample n sits at input sample 3n: the phase matches the source tone.
    for (let n = 1600; n < 1700; n++) {
      expect(joined(keep.posted)[n]).toBeCloseTo(tone(1000, 48_000)(0, 3 * n), 3);
    }

    const cut = loadProcessor(48_000, { targetRate: 16_000, frameSamples: 320, channels: 1 });
    cut.feed(1, tone(12_000, 48_000));
    const rest = joined(cut.posted).subarray(1600, 14_400);
    const rms = Math.sqrt(rest.reduce((n, v) => n + v * v, 0) / rest.length);
    expect(db(rms / (0.5 / Math.SQRT2))).toBeLessThan(-60);
  });

  it.each([
    [44_100, 16_000, 'rational, 160 phases'],
    [16_000, 48_000, 'upsampling'],
    [48_000, 16_001, 'phases interpolated'],
  ])('resamples %i Hz to %i Hz (%s) keeping a 1 kHz tone', (from, to) => {
    const frame = Math.round(to / 50);
    const p = loadProcessor(from, { targetRate: to, frameSamples: frame, channels: 1 });
    p.feed(1, tone(1000, from));
    const out = joined(p.posted);
    expect(out.length).toBeGreaterThan(to * 0.9);
    const steady = out.subarray(Math.round(to * 0.1), Math.round(to * 0.9));
    expect(Math.abs(db(amplitudeAt(steady, 1000, to) / 0.5))).toBeLessThan(0.1);
    const offset = Math.round(to * 0.1);
    let error = 0;
    for (let n = 0; n < steady.length; n++) {
      error = Math.max(error, Math.abs(steady[n]! - tone(1000, to)(0, offset + n)));
    }
    expect(error).toBeLessThan(1e-3);
  });

  it('downmixes to mono by averaging, or interleaves two channels', () => {
    const mono = loadProcessor(48_000, { targetRate: 48_000, frameSamples: 480, channels: 1 });
    mono.feed(0.02, (c) => (c === 0 ? 0.5 : -0.25), 2);
    expect(new Set(joined(mono.posted))).toEqual(new Set([0.125]));

    const stereo = loadProcessor(48_000, { targetRate: 48_000, frameSamples: 480, channels: 2 });
    stereo.feed(0.02, (c, i) => (c === 0 ? i : -i) / 1e4, 2);
    const s = joined(stereo.posted);
    expect(s).toHaveLength(960 * 2);
    expect(Array.from(s.subarray(0, 6))).toEqual(
      Array.from(new Float32Array([0, -0, 1e-4, -1e-4, 2e-4, -2e-4])),
    );

    const upmix = loadProcessor(48_000, { targetRate: 48_000, frameSamples: 480, channels: 2 });
    upmix.feed(0.01, (_c, i) => i / 1e4, 1);
    const u = joined(upmix.posted);
    expect(u[2]).toBe(u[3]);
  });

  it('counts a quantum without input as silence, so time stays continuous', () => {
    const p = loadProcessor(48_000, { targetRate: 48_000, frameSamples: 256, channels: 1 });
    p.processor.process([[new Float32Array(128).fill(0.5)]]);
    p.scope.currentFrame = 128;
    p.processor.process([[]]);
    expect(p.posted).toHaveLength(1);
    const s = p.posted[0]!.samples;
    expect(s[127]).toBe(0.5);
    expect(s[128]).toBe(0);
  });

  it("stops processing after the 'stop' message", () => {
    const p = loadProcessor(48_000, { targetRate: 48_000, frameSamples: 256, channels: 1 });
    expect(p.processor.process([[new Float32Array(128)]])).toBe(true);
    p.processor.port.onmessage?.({ data: 'stop' });
    expect(p.processor.process([[new Float32Array(128)]])).toBe(false);
  });
});

// ---------------------------------------------------------------------------
// fromMicrophone against stubbed browser globals

useFakeMicrophone();

/** Subscribes and waits until the graph is built (or the source errored). */
async function start(options?: MicrophoneOptions) {
  const chunks: AudioChunk[] = [];
  const nodesBefore = fakes.nodes.length;
  let error: unknown;
  let completed = false;
  const subscription: Subscription = fromMicrophone(options).subscribe({
    next: (chunk) => chunks.push(chunk),
    error: (e: unknown) => (error = e),
    complete: () => (completed = true),
  });
  for (let i = 0; i < 20 && fakes.nodes.length === nodesBefore && error === undefined; i++) {
    await Promise.resolve();
  }
  return {
    chunks,
    subscription,
    get error() {
      return error;
    },
    get completed() {
      return completed;
    },
  };
}

function domException(name: string, extra: Record<string, unknown> = {}): Error {
  return Object.assign(new Error(`${name} from the browser`), { name }, extra);
}

describe('fromMicrophone', () => {
  it('asks for the device, builds source -> worklet -> destination and emits numbered Float32 chunks', async () => {
    const mic = await start({
      deviceId: 'usb-mic',
      constraints: { echoCancellation: false },
      sampleRate: 16_000,
    });
    expect(mic.error).toBeUndefined();
    expect(fakes.getUserMedia).toHaveBeenCalledWith({
      audio: { echoCancellation: false, deviceId: { exact: 'usb-mic' } },
      video: false,
    });
    const context = fakes.contexts[0]!;
    expect(context.resume).toHaveBeenCalled();
    expect(fakes.addModule).toHaveBeenCalledWith('blob:fake-worklet');
    const node = fakes.nodes[0]!;
    expect(node.name).toBe(MICROPHONE_PROCESSOR_NAME);
    expect(node.options.processorOptions).toEqual({
      targetRate: 16_000,
      frameSamples: 320,
      channels: 1,
    });
    expect(context.source.connect).toHaveBeenCalledWith(node);
    expect(node.connect).toHaveBeenCalledWith(context.destination);

    const samples = new Float32Array(320).fill(0.25);
    node.emit(1, samples);
    node.emit(1.02);
    expect(mic.chunks).toHaveLength(2);
    expect(mic.chunks[0]).toEqual({
      samples,
      sampleRate: 16_000,
      channels: 1,
      seq: 0,
      timestamp: expect.any(Number),
    });
    expect(mic.chunks[1]!.seq).toBe(1);
    expect(mic.chunks[1]!.timestamp - mic.chunks[0]!.timestamp).toBeCloseTo(20, 9);
    mic.subscription.unsubscribe();
  });

  it('maps context time to epoch ms through getOutputTimestamp, less output and input latency', async () => {
    const mic = await start();
    const context = fakes.contexts[0]!;
    // context time 0.95 s is heard at performance time 5000 ms; 30 ms of output latency
    // before that the graph processed it; the track reports 10 ms of input latency.
    const node = fakes.nodes[0]!;
    node.emit(0.95);
    expect(mic.chunks[0]!.timestamp).toBeCloseTo(performance.timeOrigin + 5_000 - 30 - 10, 6);
    // Jitter in later readings moves timestamps by 1% of it, so frames stay frameMs apart.
    context.outputStamp = { contextTime: 0.97, performanceTime: 5_020.5 };
    node.emit(0.97);
    expect(mic.chunks[1]!.timestamp - mic.chunks[0]!.timestamp).toBeCloseTo(20.005, 3);
    // A jump (the context was suspended a while) is taken at once.
    context.outputStamp = { contextTime: 0.99, performanceTime: 9_000 };
    node.emit(0.99);
    expect(mic.chunks[2]!.timestamp).toBeCloseTo(performance.timeOrigin + 9_000 - 40, 6);
    mic.subscription.unsubscribe();
  });

  it('defaults to the context rate, 20 ms frames, mono; asks for channelCount when more channels are wanted', async () => {
    const mono = await start();
    expect(fakes.nodes[0]!.options.processorOptions).toEqual({
      targetRate: 48_000,
      frameSamples: 960,
      channels: 1,
    });
    expect(fakes.getUserMedia).toHaveBeenLastCalledWith({ audio: {}, video: false });
    mono.subscription.unsubscribe();

    const stereo = await start({ channels: 2, frameMs: 10 });
    expect(fakes.getUserMedia).toHaveBeenLastCalledWith({
      audio: { channelCount: { ideal: 2 } },
      video: false,
    });
    expect(fakes.nodes[1]!.options.processorOptions).toEqual({
      targetRate: 48_000,
      frameSamples: 480,
      channels: 2,
    });
    stereo.subscription.unsubscribe();
  });

  it('unsubscribing stops the tracks, disconnects the nodes, closes the context and revokes the Blob URL', async () => {
    const mic = await start();
    const context = fakes.contexts[0]!;
    const node = fakes.nodes[0]!;
    const stream = (await fakes.getUserMedia.mock.results[0]!.value) as FakeStream;
    expect(fakes.revokeObjectURL).toHaveBeenCalledWith('blob:fake-worklet'); // once the module loaded
    mic.subscription.unsubscribe();
    expect(stream.track.stop).toHaveBeenCalledTimes(1);
    expect(node.port.postMessage).toHaveBeenCalledWith('stop');
    expect(node.port.close).toHaveBeenCalled();
    expect(node.port.onmessage).toBeNull();
    expect(node.disconnect).toHaveBeenCalled();
    expect(context.source.disconnect).toHaveBeenCalled();
    expect(context.close).toHaveBeenCalledTimes(1);
    expect(fakes.revokeObjectURL).toHaveBeenCalledTimes(1);
    node.emit(1);
    expect(mic.chunks).toHaveLength(0);
  });

  it('unsubscribing while permission is pending stops the stream when it arrives and builds nothing', async () => {
    let grant!: (stream: FakeStream) => void;
    fakes.getUserMedia.mockReturnValueOnce(new Promise((resolve) => (grant = resolve)));
    const mic = await start();
    mic.subscription.unsubscribe();
    const stream = new FakeStream();
    grant(stream);
    await new Promise((resolve) => setImmediate(resolve));
    expect(stream.track.stop).toHaveBeenCalled();
    expect(fakes.contexts).toHaveLength(0);
    expect(mic.error).toBeUndefined();
  });

  it('unsubscribing while the worklet loads closes the context and builds no node', async () => {
    let loaded!: () => void;
    fakes.addModule.mockReturnValueOnce(new Promise<void>((resolve) => (loaded = resolve)));
    const mic = await start();
    mic.subscription.unsubscribe();
    expect(fakes.contexts[0]!.close).toHaveBeenCalled();
    loaded();
    await new Promise((resolve) => setImmediate(resolve));
    expect(fakes.nodes).toHaveLength(0);
    expect(mic.error).toBeUndefined();
  });

  it('completes and releases everything when the track ends', async () => {
    const mic = await start();
    const stream = (await fakes.getUserMedia.mock.results[0]!.value) as FakeStream;
    stream.track.end();
    expect(mic.completed).toBe(true);
    expect(fakes.contexts[0]!.close).toHaveBeenCalled();
  });

  it.each([
    ['NotAllowedError', 'RXWIRE_MIC_PERMISSION_DENIED'],
    ['SecurityError', 'RXWIRE_MIC_PERMISSION_DENIED'],
    ['NotFoundError', 'RXWIRE_MIC_NOT_FOUND'],
    ['OverconstrainedError', 'RXWIRE_MIC_NOT_FOUND'],
    ['NotReadableError', 'RXWIRE_MIC_FAILED'],
    ['AbortError', 'RXWIRE_MIC_FAILED'],
    ['TypeError', 'RXWIRE_MIC_UNSUPPORTED'],
  ])('getUserMedia rejecting with %s errors with %s', async (name, code) => {
    const cause = domException(
      name,
      name === 'OverconstrainedError' ? { constraint: 'deviceId' } : {},
    );
    fakes.getUserMedia.mockReturnValueOnce(Promise.reject(cause));
    const mic = await start({ deviceId: 'gone' });
    expect(mic.error).toBeInstanceOf(MicrophoneError);
    expect(mic.error).toBeInstanceOf(RxwireError);
    expect(mic.error).toMatchObject({ code, name: 'MicrophoneError', cause });
    if (name === 'OverconstrainedError') {
      expect((mic.error as Error).message).toMatch(/constraint 'deviceId'/);
    }
    expect(fakes.contexts).toHaveLength(0);
  });

  it.each([
    ['no navigator', () => setGlobal('navigator', undefined), /getUserMedia/],
    ['no mediaDevices (insecure page)', () => setGlobal('navigator', {}), /getUserMedia/],
    ['not a secure context', () => setGlobal('isSecureContext', false), /secure context/],
    ['no AudioContext', () => setGlobal('AudioContext', undefined), /AudioContext/],
    ['no AudioWorkletNode', () => setGlobal('AudioWorkletNode', undefined), /AudioWorklet/],
  ])('%s: RXWIRE_MIC_UNSUPPORTED, asking for nothing', async (_what, arrange, message) => {
    arrange();
    const mic = await start();
    expect(mic.error).toBeInstanceOf(MicrophoneError);
    expect(mic.error).toMatchObject({
      code: 'RXWIRE_MIC_UNSUPPORTED',
      message: expect.stringMatching(message),
    });
    expect(fakes.getUserMedia).not.toHaveBeenCalled();
  });

  it('a context without audioWorklet: RXWIRE_MIC_UNSUPPORTED, and the stream is stopped', async () => {
    class NoWorklet extends FakeContext {
      override readonly audioWorklet = undefined as never;
    }
    setGlobal('AudioContext', NoWorklet);
    const mic = await start();
    expect(mic.error).toMatchObject({ code: 'RXWIRE_MIC_UNSUPPORTED' });
    const stream = (await fakes.getUserMedia.mock.results[0]!.value) as FakeStream;
    expect(stream.track.stop).toHaveBeenCalled();
    expect(fakes.contexts[0]!.close).toHaveBeenCalled();
  });

  it('a worklet module that fails to load (CSP): RXWIRE_MIC_FAILED naming workletUrl, everything released', async () => {
    fakes.addModule.mockReturnValueOnce(Promise.reject(domException('AbortError')));
    const mic = await start();
    expect(mic.error).toMatchObject({
      code: 'RXWIRE_MIC_FAILED',
      message: expect.stringMatching(/Content Security Policy.*workletUrl/),
    });
    const stream = (await fakes.getUserMedia.mock.results[0]!.value) as FakeStream;
    expect(stream.track.stop).toHaveBeenCalled();
    expect(fakes.contexts[0]!.close).toHaveBeenCalled();
    expect(fakes.revokeObjectURL).toHaveBeenCalledWith('blob:fake-worklet');
  });

  it('loads a given workletUrl instead of a Blob URL', async () => {
    const mic = await start({ workletUrl: '/static/rxwire-microphone.js' });
    expect(fakes.addModule).toHaveBeenCalledWith('/static/rxwire-microphone.js');
    expect(fakes.createObjectURL).not.toHaveBeenCalled();
    mic.subscription.unsubscribe();
    expect(fakes.revokeObjectURL).not.toHaveBeenCalled();
  });

  it('a processor error errors the stream with RXWIRE_MIC_FAILED and releases it', async () => {
    const mic = await start();
    fakes.nodes[0]!.onprocessorerror?.(new Event('processorerror'));
    expect(mic.error).toMatchObject({ code: 'RXWIRE_MIC_FAILED' });
    expect(fakes.contexts[0]!.close).toHaveBeenCalled();
  });

  it.each<[MicrophoneOptions, RegExp]>([
    [{ frameMs: 0 }, /frameMs/],
    [{ frameMs: Number.NaN }, /frameMs/],
    [{ channels: 0 }, /channels/],
    [{ channels: 1.5 }, /channels/],
    [{ sampleRate: 44_100.5 }, /sampleRate/],
    [{ sampleRate: 0 }, /sampleRate/],
    [{ sampleRate: 8000, frameMs: 0.01 }, /holds no sample/],
  ])('invalid options %j throw an RxwireTypeError at the call', (options, message) => {
    expect(() => fromMicrophone(options)).toThrow(RxwireTypeError);
    expect(() => fromMicrophone(options)).toThrow(message);
  });
});
