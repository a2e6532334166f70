// Captures with fromMicrophone alone and reports each chunk over plain JSON
// messages (no audio operators, no binary frames). Query: ?rate=16000 asks the
// worklet to resample; ?stopAfter=N unsubscribes after N chunks and reports
// whether the tracks, nodes and AudioContext were released.
import { filter, take } from 'rxjs';
import { createClient } from '../../../src/index';
import { fromMicrophone } from '../../../src/audio/from-microphone';
import type { MicrophoneOptions } from '../../../src/audio/from-microphone';
import { errorInfo, show } from './status';

const params = new URLSearchParams(location.search);
const rate = params.get('rate');
const stopAfter = Number(params.get('stopAfter') ?? Infinity);

// Watch what the microphone source acquires so teardown can be checked.
const contexts: BaseAudioContext[] = [];
const streams: MediaStream[] = [];
const originalCreateSource = AudioContext.prototype.createMediaStreamSource;
AudioContext.prototype.createMediaStreamSource = function (
  this: AudioContext,
  stream: MediaStream,
) {
  contexts.push(this);
  streams.push(stream);
  return originalCreateSource.call(this, stream);
};
let revoked = 0;
const originalRevoke = URL.revokeObjectURL.bind(URL);
URL.revokeObjectURL = (url: string) => {
  revoked++;
  originalRevoke(url);
};

const client = createClient({ reconnect: false });
client.state$
  .pipe(
    filter((s) => s.status === 'connected'),
    take(1),
  )
  .subscribe(() => {
    // Without the browser's voice processing the tone's level is what the WAV holds.
    const options: MicrophoneOptions = {
      constraints: { echoCancellation: false, noiseSuppression: false, autoGainControl: false },
    };
    if (rate) options.sampleRate = Number(rate);
    let count = 0;
    const subscription = fromMicrophone(options).subscribe({
      next: (chunk) => {
        const s = chunk.samples;
        let rising = 0;
        let sum = 0;
        for (let i = 0; i < s.length; i++) {
          const v = s[i]!;
          sum += v * v;
          if (i > 0 && s[i - 1]! < 0 && v >= 0) rising++;
        }
        const report = {
          seq: chunk.seq,
          length: s.length,
          type: s.constructor.name,
          sampleRate: chunk.sampleRate,
          channels: chunk.channels,
          timestamp: chunk.timestamp,
          receivedAt: Date.now(),
          rising,
          rms: Math.sqrt(sum / Math.max(1, s.length)),
          contextRate: contexts[0]?.sampleRate ?? 0,
        };
        client.send('mic_chunk', report);
        show({ chunks: ++count, last: report });
        if (count === stopAfter) {
          subscription.unsubscribe();
          void reportTeardown();
        }
      },
      error: (error: unknown) => {
        client.send('mic_error', errorInfo(error));
        show({ error: errorInfo(error) });
      },
    });
  });

async function reportTeardown(): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (contexts.some((c) => c.state !== 'closed') && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const done = {
    contexts: contexts.map((c) => c.state),
    tracks: streams.flatMap((s) => s.getTracks().map((t) => t.readyState)),
    revoked,
  };
  client.send('mic_done', done);
  show({ stopped: done });
}
