/**
 * @jest-environment jsdom
 */
// useMicrophone against stubbed browser audio (spec/helpers/fake-microphone)
// and a FakeServer client: frames go through resample, toPcm16 and frames
// into client.audio as binary frames; stop(), unmount, a refusal and an ended
// track stop the tracks; errors are the typed MicrophoneError codes. The real
// browser run is spec/browser/react-demo.spec.ts.
import { act, renderHook, waitFor } from '@testing-library/react';
import { decodeAudioFrame } from '../../src/audio/index';
import type { Client } from '../../src/index';
import { useMicrophone, type MicrophoneHookOptions } from '../../src/react/index';
import type { FakeServer } from '../../src/testing/index';
import { fakes, useFakeMicrophone, type FakeStream } from '../helpers/fake-microphone';
import { failOnReactWarnings, fakeClient, withClient } from './helpers';

useFakeMicrophone();

const WAIT = { timeout: 10_000 };
const RATE = 48_000; // the fake AudioContext's rate
const FRAME = 960; // 20 ms at 48 kHz: what the worklet posts

failOnReactWarnings();
let setup: { fake: FakeServer; client: Client };
beforeEach(async () => {
  setup = fakeClient();
  setup.client.connect();
  await waitFor(() => expect(setup.client.state.status).toBe('connected'), WAIT);
});
afterEach(() => act(() => setup.client.dispose()));

function renderMicrophone(options: MicrophoneHookOptions = {}) {
  return renderHook(() => useMicrophone(options), {
    wrapper: withClient(setup.client),
    reactStrictMode: true,
  });
}

/** Starts and waits until the fake worklet node exists. */
async function started(result: { current: ReturnType<typeof useMicrophone> }) {
  act(() => result.current.start());
  await waitFor(() => expect(fakes.nodes).toHaveLength(1), WAIT);
  return { node: fakes.nodes[0]!, context: fakes.contexts[0]!, stream: await stream() };
}

const stream = async () => (await fakes.getUserMedia.mock.results[0]!.value) as FakeStream;

/** The worklet posts `count` 20 ms frames of a 440 Hz sine at amplitude 0.5. */
function play(node: (typeof fakes.nodes)[number], count: number, from = 0): void {
  for (let f = from; f < from + count; f++) {
    const samples = Float32Array.from(
      { length: FRAME },
      (_, i) => 0.5 * Math.sin((2 * Math.PI * 440 * (f * FRAME + i)) / RATE),
    );
    node.emit(1 + f * 0.02, samples);
  }
}

/** Binary frames the client sent to the fake server, decoded. */
const sentAudio = () =>
  setup.fake
    .last!.sent.filter((frame) => typeof frame !== 'string')
    .map((frame) => decodeAudioFrame(frame as ArrayBufferView));

describe('useMicrophone', () => {
  it('streams the microphone as 16 kHz PCM16 20 ms frames into client.audio, with a level and counters', async () => {
    let streams = 0;
    const { result } = renderMicrophone({ streamId: () => ++streams + 6, meterMs: 0 });
    expect(result.current).toMatchObject({ active: false, level: undefined, error: undefined });
    const { node } = await started(result);
    expect(fakes.getUserMedia).toHaveBeenCalledTimes(1); // StrictMode did not start it twice
    expect(result.current.active).toBe(true);

    act(() => play(node, 50)); // one second of audio
    const frames = sentAudio();
    // The resampler's filter holds back a few ms: at least 48 of 50 frames are out.
    expect(frames.length).toBeGreaterThanOrEqual(48);
    expect(frames.length).toBeLessThanOrEqual(50);
    frames.forEach((chunk, i) =>
      expect(chunk).toMatchObject({ seq: i, sampleRate: 16_000, channels: 1, streamId: 7 }),
    );
    expect(frames.every((c) => c.samples instanceof Int16Array && c.samples.length === 320)).toBe(
      true,
    );
    expect(result.current.stats).toEqual({
      streamId: 7,
      frames: frames.length,
      sent: frames.length,
      droppedOffline: 0,
      droppedBackpressure: 0,
    });
    // A sine of amplitude 0.5: RMS 0.354, -9.0 dBFS.
    expect(result.current.level).toBeCloseTo(-9.03, 0);
  });

  it('stop() stops the tracks and closes the AudioContext; a new start() is a new stream', async () => {
    let streams = 0;
    const { result } = renderMicrophone({ streamId: () => ++streams });
    const { node, context, stream } = await started(result);
    act(() => play(node, 10));
    act(() => result.current.stop());
    expect(stream.track.stop).toHaveBeenCalledTimes(1);
    expect(context.close).toHaveBeenCalledTimes(1);
    expect(result.current).toMatchObject({ active: false, level: undefined, error: undefined });
    expect(result.current.stats.streamId).toBe(1);
    const sent = result.current.stats.sent;
    expect(sent).toBeGreaterThan(5);

    act(() => result.current.start());
    await waitFor(() => expect(fakes.nodes).toHaveLength(2), WAIT);
    act(() => play(fakes.nodes[1]!, 10));
    act(() => result.current.stop());
    // Counters are per run: the second stream counts from zero.
    expect(result.current.stats).toMatchObject({ streamId: 2, sent: expect.any(Number) });
    expect(result.current.stats.sent).toBeLessThanOrEqual(10);
    expect(sentAudio().filter((c) => c.streamId === 2).length).toBe(result.current.stats.sent);
  });

  it('unmounting stops the tracks', async () => {
    const { result, unmount } = renderMicrophone();
    const { stream, context } = await started(result);
    unmount();
    expect(stream.track.stop).toHaveBeenCalledTimes(1);
    expect(context.close).toHaveBeenCalledTimes(1);
  });

  it('offline, frames are dropped and counted, never queued', async () => {
    const { result } = renderMicrophone({ meterMs: 0 });
    const { node } = await started(result);
    const before = sentAudio().length;
    act(() => setup.client.disconnect());
    await waitFor(() => expect(setup.client.state.status).toBe('disconnected'), WAIT);
    act(() => play(node, 20));
    await waitFor(
      () => expect(result.current.stats.droppedOffline).toBeGreaterThanOrEqual(18),
      WAIT,
    );
    expect(result.current.stats.sent).toBe(before);
  });

  it.each([
    ['NotAllowedError', 'RXWIRE_MIC_PERMISSION_DENIED'],
    ['NotFoundError', 'RXWIRE_MIC_NOT_FOUND'],
    ['NotReadableError', 'RXWIRE_MIC_FAILED'],
  ])('a getUserMedia %s ends with the typed error %s', async (name, code) => {
    fakes.getUserMedia.mockReturnValueOnce(
      Promise.reject(Object.assign(new Error(`${name} from the browser`), { name })),
    );
    const { result } = renderMicrophone();
    act(() => result.current.start());
    await waitFor(() => expect(result.current.error?.code).toBe(code), WAIT);
    expect(result.current.error?.name).toBe('MicrophoneError');
    expect(result.current.active).toBe(false);
  });

  it('without getUserMedia or AudioWorklet: RXWIRE_MIC_UNSUPPORTED', async () => {
    Object.defineProperty(globalThis, 'AudioWorkletNode', { value: undefined, configurable: true });
    const { result } = renderMicrophone();
    act(() => result.current.start());
    await waitFor(() => expect(result.current.error?.code).toBe('RXWIRE_MIC_UNSUPPORTED'), WAIT);
    expect(fakes.getUserMedia).not.toHaveBeenCalled();
  });

  it('a track that ends (device unplugged) stops the run with RXWIRE_MIC_FAILED', async () => {
    const { result } = renderMicrophone();
    const { stream } = await started(result);
    act(() => stream.track.end());
    expect(result.current.active).toBe(false);
    expect(result.current.error).toMatchObject({ code: 'RXWIRE_MIC_FAILED' });
    expect(result.current.error?.message).toMatch(/track ended/);
  });

  it('an invalid option is an RxwireTypeError shown at start(), with no microphone asked for', () => {
    const { result } = renderMicrophone({ sampleRate: -1 });
    act(() => result.current.start());
    expect(result.current.error).toMatchObject({
      name: 'RxwireTypeError',
      code: 'RXWIRE_INVALID_OPTION',
    });
    expect(result.current.active).toBe(false);
    expect(fakes.getUserMedia).not.toHaveBeenCalled();
  });
});
