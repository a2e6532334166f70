// The server's view of a page's microphone: every 500 ms, what arrived on the
// stream the page is sending (seconds of audio, frames, lost, reordered, frame
// rate), from `session.audio$` and `session.audioStats`, sent back as a typed
// `audio_view` message.
import { interval, takeUntil, type Subscription } from 'rxjs';
import type { Session } from '../server/index.js';
import type { AudioView, DemoProtocol } from './protocol.js';

/** How often the view is sent while audio arrives, in ms. */
export const AUDIO_VIEW_EVERY_MS = 500;
const RATE_WINDOW_MS = 2_000;

interface StreamTally {
  streamId: number;
  samples: number;
  sampleRate: number;
  startedAt: number;
  /** Arrival times (performance.now()) within the last RATE_WINDOW_MS. */
  arrivals: number[];
}

/**
 * Watches one session's audio and sends it `audio_view` messages; `onView`
 * gets each view too (the demo keeps the latest for GET /demo/debug).
 * Everything stops when the session ends.
 */
export function serveAudioView(
  session: Session<DemoProtocol>,
  onView: (view: AudioView) => void,
): Subscription {
  const tallies = new Map<number, StreamTally>();
  let latest: StreamTally | undefined;
  let lastSent: AudioView | undefined;

  const subscription = session.audio$.subscribe((chunk) => {
    const streamId = chunk.streamId ?? 0;
    let tally = tallies.get(streamId);
    if (!tally) {
      tally = {
        streamId,
        samples: 0,
        sampleRate: chunk.sampleRate,
        startedAt: performance.now(),
        arrivals: [],
      };
      tallies.set(streamId, tally);
    }
    tally.samples += chunk.samples.length / chunk.channels;
    tally.sampleRate = chunk.sampleRate;
    tally.arrivals.push(performance.now());
    latest = tally;
  });

  const view = (tally: StreamTally): AudioView => {
    const now = performance.now();
    while (tally.arrivals.length > 0 && tally.arrivals[0]! <= now - RATE_WINDOW_MS) {
      tally.arrivals.shift();
    }
    const windowMs = Math.min(RATE_WINDOW_MS, Math.max(now - tally.startedAt, AUDIO_VIEW_EVERY_MS));
    const stats = session.audioStats.streams.get(tally.streamId);
    return {
      streamId: tally.streamId,
      seconds: tally.sampleRate > 0 ? tally.samples / tally.sampleRate : 0,
      frames: stats?.received ?? 0,
      lost: stats?.lost ?? 0,
      reordered: stats?.reordered ?? 0,
      framesPerSecond: (tally.arrivals.length * 1000) / windowMs,
      sampleRate: tally.sampleRate,
    };
  };

  subscription.add(
    interval(AUDIO_VIEW_EVERY_MS)
      .pipe(takeUntil(session.closed$))
      .subscribe(() => {
        if (!latest) return;
        const next = view(latest);
        // Quiet streams are not repeated: send while frames arrive, and once when they stop.
        const changed =
          !lastSent ||
          lastSent.streamId !== next.streamId ||
          lastSent.frames !== next.frames ||
          lastSent.framesPerSecond !== next.framesPerSecond;
        if (!changed) return;
        lastSent = next;
        session.send('audio_view', next);
        onView(next);
      }),
  );
  return subscription;
}
