// The issue-4 page: the microphone through the audio operators into
// client.audio, sent as binary frames to the server that served the page.
import { filter, take } from 'rxjs';
import { createClient } from '../../../src/index';
import { fromMicrophone } from '../../../src/audio/from-microphone';
import { frames } from '../../../src/audio/frames';
import { resample } from '../../../src/audio/resample';
import { toPcm16 } from '../../../src/audio/to-pcm16';
import { errorInfo, show } from './status';

const client = createClient({ reconnect: false });
let sent = 0;
let audioStats: unknown = 'none yet';
client.audioStats$.subscribe((stats) => (audioStats = stats));
client.state$
  .pipe(
    filter((s) => s.status === 'connected'),
    take(1),
  )
  .subscribe(() => {
    fromMicrophone()
      .pipe(resample(16000), toPcm16(), frames(20))
      .subscribe({
        next: (chunk) => {
          client.audio.next(chunk);
          show({
            chunks: ++sent,
            seq: chunk.seq,
            samples: chunk.samples.length,
            rate: chunk.sampleRate,
            'client.audioStats$': audioStats,
          });
        },
        error: (error: unknown) => {
          client.send('mic_error', errorInfo(error));
          show({ error: errorInfo(error) });
        },
      });
  });
