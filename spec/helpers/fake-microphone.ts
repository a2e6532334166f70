// Stubbed browser audio globals for microphone tests in Node or jsdom:
// getUserMedia, AudioContext with an AudioWorklet, AudioWorkletNode and Blob
// URLs, all jest mocks a test can inspect and drive (`node.emit()` is the
// worklet posting a frame, `track.end()` the browser ending the track).
import type {
  MicrophoneProcessorMessage,
  MicrophoneProcessorOptions,
} from '../../src/audio/microphone-worklet';

export class FakeTrack {
  readonly stop = jest.fn(() => {
    this.readyState = 'ended';
  });
  readyState = 'live';
  private listeners: Array<() => void> = [];
  addEventListener(type: string, listener: () => void): void {
    if (type === 'ended') this.listeners.push(listener);
  }
  getSettings(): { latency: number } {
    return { latency: 0.01 };
  }
  /** The browser ended the track (device unplugged). */
  end(): void {
    this.readyState = 'ended';
    for (const listener of this.listeners) listener();
  }
}

export class FakeStream {
  readonly track = new FakeTrack();
  getTracks(): FakeTrack[] {
    return [this.track];
  }
  getAudioTracks(): FakeTrack[] {
    return [this.track];
  }
}

export interface Fakes {
  getUserMedia: jest.Mock;
  contexts: FakeContext[];
  nodes: FakeWorkletNode[];
  addModule: jest.Mock;
  createObjectURL: jest.SpyInstance;
  revokeObjectURL: jest.SpyInstance;
}
/** The fakes of the current test (replaced before each). */
export let fakes: Fakes;

class FakeSource {
  readonly connect = jest.fn();
  readonly disconnect = jest.fn();
}

export class FakeContext {
  state = 'running';
  readonly sampleRate = 48_000;
  readonly baseLatency = 0.01;
  readonly outputLatency = 0.02;
  currentTime = 1;
  readonly destination = { destination: true };
  readonly resume = jest.fn(() => Promise.resolve());
  readonly close = jest.fn(() => {
    this.state = 'closed';
    return Promise.resolve();
  });
  readonly audioWorklet = { addModule: (url: string) => fakes.addModule(url) };
  readonly source = new FakeSource();
  readonly createMediaStreamSource = jest.fn(() => this.source);
  outputStamp = { contextTime: 0.95, performanceTime: 5_000 };
  readonly options: unknown;
  constructor(options: unknown) {
    this.options = options;
    fakes.contexts.push(this);
  }
  getOutputTimestamp(): { contextTime: number; performanceTime: number } {
    return this.outputStamp;
  }
}

export class FakeWorkletNode {
  readonly port = {
    onmessage: null as ((event: { data: MicrophoneProcessorMessage }) => void) | null,
    postMessage: jest.fn(),
    close: jest.fn(),
  };
  onprocessorerror: ((event: unknown) => void) | null = null;
  readonly connect = jest.fn();
  readonly disconnect = jest.fn();
  constructor(
    readonly context: FakeContext,
    readonly name: string,
    readonly options: { processorOptions: MicrophoneProcessorOptions },
  ) {
    fakes.nodes.push(this);
  }
  /** What the processor posting a frame looks like on the main thread. */
  emit(time: number, samples = new Float32Array(this.options.processorOptions.frameSamples)): void {
    this.port.onmessage?.({ data: { samples, time } });
  }
}

const globalNames = ['navigator', 'AudioContext', 'AudioWorkletNode', 'isSecureContext'] as const;
const saved = new Map<string, PropertyDescriptor | undefined>();
/** A navigator that was there before (jsdom's), and its own mediaDevices, to put back. */
let patched: { navigator: object; mediaDevices: PropertyDescriptor | undefined } | undefined;

export function setGlobal(name: (typeof globalNames)[number], value: unknown): void {
  Object.defineProperty(globalThis, name, { value, configurable: true, writable: true });
}

/**
 * Installs the fakes before each test of the calling file (fresh ones each
 * time, in `fakes`) and puts the real globals back after it.
 */
export function useFakeMicrophone(): void {
  beforeEach(() => {
    // jsdom has no Blob URLs: give URL the two functions to spy on.
    for (const name of ['createObjectURL', 'revokeObjectURL'] as const) {
      if (typeof URL[name] !== 'function') {
        Object.defineProperty(URL, name, { value: () => '', configurable: true, writable: true });
      }
    }
    for (const name of globalNames)
      saved.set(name, Object.getOwnPropertyDescriptor(globalThis, name));
    fakes = {
      getUserMedia: jest.fn(() => Promise.resolve(new FakeStream())),
      contexts: [],
      nodes: [],
      addModule: jest.fn(() => Promise.resolve()),
      createObjectURL: jest.spyOn(URL, 'createObjectURL').mockReturnValue('blob:fake-worklet'),
      revokeObjectURL: jest.spyOn(URL, 'revokeObjectURL').mockReturnValue(undefined),
    };
    const mediaDevices = { getUserMedia: fakes.getUserMedia };
    const navigator = (globalThis as { navigator?: object }).navigator;
    if (navigator) {
      // jsdom's own navigator stays (its WebSocket reads userAgent); only mediaDevices is faked.
      patched = {
        navigator,
        mediaDevices: Object.getOwnPropertyDescriptor(navigator, 'mediaDevices'),
      };
      Object.defineProperty(navigator, 'mediaDevices', { value: mediaDevices, configurable: true });
    } else {
      setGlobal('navigator', { mediaDevices });
    }
    setGlobal('AudioContext', FakeContext);
    setGlobal('AudioWorkletNode', FakeWorkletNode);
    setGlobal('isSecureContext', true);
  });

  afterEach(() => {
    if (patched) {
      if (patched.mediaDevices) {
        Object.defineProperty(patched.navigator, 'mediaDevices', patched.mediaDevices);
      } else {
        delete (patched.navigator as { mediaDevices?: unknown }).mediaDevices;
      }
      patched = undefined;
    }
    for (const name of globalNames) {
      const descriptor = saved.get(name);
      if (descriptor) Object.defineProperty(globalThis, name, descriptor);
      else delete (globalThis as Record<string, unknown>)[name];
    }
    jest.restoreAllMocks();
  });
}
