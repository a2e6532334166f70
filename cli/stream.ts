// `rxwire stream <file.wav>`: the file is read and decoded before anything
// connects, then streamed as binary audio frames with a progress display.
import { readFile } from 'node:fs/promises';
import WebSocket from 'ws';
import { filter, firstValueFrom, lastValueFrom, reduce, tap } from 'rxjs';
import {
  CloseCode,
  ErrorCode,
  createClient,
  type AudioStats,
  type ConnectionState,
} from '../src/index.js';
import { fromWav } from '../src/audio/index.js';

/** A WAV file read and decoded, ready to stream. */
export interface WavInput {
  file: string;
  bytes: Uint8Array;
  /** Duration in seconds, for the progress bar. */
  seconds: number;
}

/**
 * Reads and decodes `file` (the whole of it: a broken file is reported before
 * connecting, not halfway through). Resolves with the input, or with the
 * problem in one line.
 */
export async function readWav(file: string, frameMs: number): Promise<WavInput | string> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(file);
  } catch (error) {
    return `cannot read ${file}: ${fileProblem(error)}`;
  }
  try {
    const seconds = await lastValueFrom(
      fromWav(bytes, { frameMs }).pipe(
        reduce((sum, c) => sum + c.samples.length / c.channels / c.sampleRate, 0),
      ),
      { defaultValue: 0 },
    );
    return { file, bytes, seconds };
  } catch (error) {
    return `cannot stream ${file}: ${(error as Error).message}`;
  }
}

function fileProblem(error: unknown): string {
  switch ((error as { code?: string }).code) {
    case 'ENOENT':
      return 'no such file';
    case 'EISDIR':
      return 'it is a directory';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    default:
      return (error as Error).message;
  }
}

export interface StreamOptions {
  url: string;
  realtime: boolean;
  token: string | undefined;
  streamId: number;
  frameMs: number;
  out: NodeJS.WritableStream;
  err: NodeJS.WritableStream & { isTTY?: boolean };
}

/**
 * Streams the decoded file; resolves with the exit code: 0 when every frame
 * was sent, 1 when the connection could not be made, 3 when frames were dropped.
 */
export async function streamWav(input: WavInput, o: StreamOptions): Promise<number> {
  const client = createClient({
    url: o.url,
    WebSocketCtor: WebSocket,
    reconnect: { maxAttempts: 3, initialDelay: 500 },
    ...(o.token ? { token: o.token } : {}),
    // A file is not live audio: unless --realtime, let the socket buffer absorb it.
    ...(o.realtime ? {} : { audio: { highWaterMarkMs: Infinity } }),
  });
  try {
    const state = await firstValueFrom(
      client.state$.pipe(filter((s) => s.status === 'connected' || s.status === 'error')),
    );
    if (state.status === 'error') {
      o.err.write(`rxwire: ${connectProblem(o.url, state)}\n`);
      return 1;
    }
    let stats: AudioStats | undefined;
    client.audioStats$.subscribe((s) => (stats = s));
    let seconds = 0;
    let total = 0;
    const progress = new Progress(o.err, input.seconds);
    await lastValueFrom(
      fromWav(input.bytes, { realtime: o.realtime, frameMs: o.frameMs }).pipe(
        tap((chunk) => {
          client.audio.next({ ...chunk, streamId: o.streamId });
          seconds += chunk.samples.length / chunk.channels / chunk.sampleRate;
          total++;
          progress.update(seconds, stats);
        }),
      ),
      { defaultValue: undefined },
    );
    progress.done(seconds, stats);
    const s = stats ?? {
      sent: 0,
      droppedOffline: 0,
      droppedBackpressure: 0,
      invalid: 0,
      bytesSent: 0,
    };
    o.out.write(
      `${input.file}: ${total} frames (${seconds.toFixed(2)} s): sent ${s.sent}, ` +
        `dropped offline ${s.droppedOffline}, dropped for backpressure ${s.droppedBackpressure}, ` +
        `${(s.bytesSent / 1024).toFixed(1)} KiB\n`,
    );
    // ws sends the close frame after every queued frame, so nothing is cut off.
    client.disconnect();
    await firstValueFrom(client.state$.pipe(filter((st) => st.status === 'disconnected')));
    return s.droppedOffline + s.droppedBackpressure + s.invalid === 0 ? 0 : 3;
  } catch (error) {
    o.err.write(`rxwire: stream failed: ${(error as Error).message}\n`);
    return 1;
  } finally {
    client.dispose();
  }
}

/**
 * Why the client ended in `error` before connecting, in one line that says
 * what to do: a token for 4401, the network error or HTTP status when the
 * platform gave one (`lastClose.cause`, `lastClose.httpStatus`).
 */
export function connectProblem(url: string, state: ConnectionState): string {
  const close = state.lastClose;
  const why = close?.reason ? ` “${close.reason}”` : '';
  if (state.error?.code === ErrorCode.Unauthorized || close?.code === CloseCode.Unauthorized) {
    return (
      `cannot connect to ${url}: the server wants a valid token (${CloseCode.Unauthorized}${why}); ` +
      `pass one with --token T (the rxwire demo issues them: POST ${loginUrl(url)})`
    );
  }
  if (close?.code === CloseCode.Forbidden) {
    return `cannot connect to ${url}: the server does not let this client in (${close.code}${why})`;
  }
  if (close?.httpStatus !== undefined) {
    return `cannot connect to ${url}: the server answered HTTP ${close.httpStatus} instead of a WebSocket upgrade`;
  }
  if (close?.cause) return `cannot connect to ${url}: ${close.cause}`;
  return `cannot connect to ${url}: ${state.error?.message ?? 'unknown error'}`;
}

/** The demo's login route on the same host: ws://h:p/ws → http://h:p/demo/login. */
function loginUrl(url: string): string {
  const login = new URL('/demo/login', url);
  login.protocol = login.protocol === 'wss:' ? 'https:' : 'http:';
  return login.href;
}

/** A one-line progress display on a terminal, periodic lines otherwise. */
class Progress {
  private last = 0;
  constructor(
    private readonly stream: NodeJS.WritableStream & { isTTY?: boolean },
    private readonly duration: number,
  ) {}

  update(seconds: number, stats: AudioStats | undefined): void {
    const now = Date.now();
    if (now - this.last < (this.stream.isTTY ? 100 : 1000)) return;
    this.last = now;
    this.write(seconds, stats, false);
  }

  done(seconds: number, stats: AudioStats | undefined): void {
    this.write(seconds, stats, true);
  }

  private write(seconds: number, stats: AudioStats | undefined, final: boolean): void {
    const dropped = stats ? stats.droppedOffline + stats.droppedBackpressure : 0;
    const width = 30;
    const fraction = this.duration > 0 ? Math.min(1, seconds / this.duration) : 1;
    const bar = '#'.repeat(Math.round(fraction * width)).padEnd(width, '.');
    const line =
      `[${bar}] ${(fraction * 100).toFixed(0).padStart(3)}%  ${seconds.toFixed(1)}/${this.duration.toFixed(1)} s` +
      `  sent ${stats?.sent ?? 0}  dropped ${dropped}`;
    if (this.stream.isTTY) this.stream.write(`\r${line}${final ? '\n' : ''}`);
    else if (final || seconds > 0) this.stream.write(`${line}\n`);
  }
}
