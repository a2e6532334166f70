// Example: JSON control messages steering binary audio streams.
//
// The client sends `session_control` {action: 'start' | 'stop', streamId} as
// ordinary JSON messages and the audio itself as binary frames (never base64 in
// JSON). On `start` the server begins a pipeline on `session.audioStream(id)`
// and answers `audio_status` 'started'; every `statusEvery` chunks it reports
// 'running'; on `stop` it completes the pipeline and answers 'stopped' with the
// totals and the session's sequence stats for the stream. Frames of a stream
// nobody started are counted in `session.audioStats` but go nowhere.
//
// Only public API is used: `createServer`, `session.on`, `session.audioStream`,
// `session.audioStats`. spec/server/audio-example.spec.ts runs it.
import {
  Observable,
  concat,
  defer,
  exhaustMap,
  filter,
  groupBy,
  ignoreElements,
  mergeMap,
  of,
  takeUntil,
  tap,
  type Subscription,
} from 'rxjs';
import type { AudioChunk } from '../src/audio/types.js';
import type { Protocol } from '../src/protocol/index.js';
import type { Session } from '../server/index.js';

/** What one `audio_status` message says about a stream. */
export interface AudioStatus {
  streamId: number;
  state: 'started' | 'running' | 'stopped';
  /** Chunks this pipeline got since its `start`. */
  chunks: number;
  /** Samples per channel since `start`, and what they last in ms at the stream's sample rate. */
  samples: number;
  durationMs: number;
  /** The session's sequence stats for the stream id (since its first frame in this session). */
  received: number;
  lost: number;
  reordered: number;
}

/** The example's protocol: JSON control up, JSON status down, audio as binary frames. */
export interface AudioExampleProtocol extends Protocol {
  client: { session_control: { action: 'start' | 'stop'; streamId: number } };
  server: { audio_status: AudioStatus };
}

/** One finished recording: every chunk from `start` to `stop`, in arrival order. */
export interface Recording {
  streamId: number;
  chunks: AudioChunk[];
  status: AudioStatus;
}

export interface AudioExampleOptions {
  /** Send a 'running' status every this many chunks. @default 50 // 1 s of 20 ms frames */
  statusEvery?: number;
  /** Gets each recording when its stream stops (or the session ends). */
  onRecording?: (recording: Recording, session: Session<AudioExampleProtocol>) => void;
}

/**
 * Serves the example on every session of `sessions$` (pass `server.sessions$`).
 * A second `start` for a stream that is running is ignored; `stop` for a
 * stream that is not running does nothing.
 *
 * @example
 * ```ts
 * const server = createServer<AudioExampleProtocol>({ port: 3001 });
 * serveAudioExample(server.sessions$, {
 *   onRecording: ({ streamId, chunks }) => writeFileSync(`${streamId}.wav`, toWav(chunks)),
 * });
 * ```
 */
export function serveAudioExample(
  sessions$: Observable<Session<AudioExampleProtocol>>,
  options: AudioExampleOptions = {},
): Subscription {
  const statusEvery = options.statusEvery ?? 50;
  return sessions$
    .pipe(
      mergeMap((session) =>
        session.on('session_control').pipe(
          groupBy((control) => control.streamId),
          mergeMap((controls$) => {
            const stop$ = controls$.pipe(filter((c) => c.action === 'stop'));
            return controls$.pipe(
              filter((c) => c.action === 'start'),
              exhaustMap(() => record(session, controls$.key, stop$, statusEvery)),
            );
          }),
          tap((recording) => options.onRecording?.(recording, session)),
        ),
      ),
    )
    .subscribe();
}

/** One start-to-stop pipeline on one stream; emits the recording once, at the end. */
function record(
  session: Session<AudioExampleProtocol>,
  streamId: number,
  stop$: Observable<unknown>,
  statusEvery: number,
): Observable<Recording> {
  return defer(() => {
    const chunks: AudioChunk[] = [];
    let samples = 0;
    let sampleRate = 0;
    const status = (state: AudioStatus['state']): AudioStatus => {
      const stats = session.audioStats.streams.get(streamId);
      return {
        streamId,
        state,
        chunks: chunks.length,
        samples,
        durationMs: sampleRate > 0 ? (samples * 1000) / sampleRate : 0,
        received: stats?.received ?? 0,
        lost: stats?.lost ?? 0,
        reordered: stats?.reordered ?? 0,
      };
    };
    session.send('audio_status', status('started'));
    const audio$ = session.audioStream(streamId).pipe(
      takeUntil(stop$),
      tap((chunk) => {
        chunks.push(chunk);
        samples += chunk.samples.length / chunk.channels;
        sampleRate = chunk.sampleRate;
        if (chunks.length % statusEvery === 0) session.send('audio_status', status('running'));
      }),
      ignoreElements(),
    );
    const finish$ = defer(() => {
      const final = status('stopped');
      session.send('audio_status', final); // a no-op when the session is already gone
      return of({ streamId, chunks, status: final });
    });
    return concat(audio$, finish$);
  });
}
