#!/usr/bin/env node
// `npx rxwire stream <file.wav>` streams a WAV file to an rxwire server as
// binary audio frames; `npx rxwire serve` runs the demo server.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import { filter, firstValueFrom, lastValueFrom, reduce, tap } from 'rxjs';
import { createClient, type AudioStats } from '../src/index.js';
import { fromWav } from '../src/audio/index.js';

const usage = `Usage:
  rxwire stream <file.wav> [--url ws://localhost:3001/ws] [--realtime] [--token T] [--stream-id N] [--frame-ms 20]
      Streams a WAV file (PCM16 or float32) as binary audio frames, with a progress bar,
      then prints what was sent and dropped. Without --realtime it sends as fast as the
      connection takes it (nothing is dropped); with --realtime it paces frames at their
      duration and, like a microphone, drops frames when the connection falls behind.
  rxwire serve [--port 3001] [--cluster redis://host:6379]
      Runs the demo server (Express + rxwire; needs express installed). With --cluster it
      runs as one node of a cluster on that Redis (needs redis installed); every node needs
      the same RXWIRE_CLUSTER_SECRET (32+ bytes) and RXWIRE_DEMO_SECRET.
  rxwire --help`;

/** Runs the CLI; resolves with the exit code. */
export async function main(
  argv: string[],
  out = process.stdout,
  err = process.stderr,
): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        url: { type: 'string', default: 'ws://localhost:3001/ws' },
        realtime: { type: 'boolean', default: false },
        token: { type: 'string' },
        'stream-id': { type: 'string', default: '0' },
        'frame-ms': { type: 'string', default: '20' },
        port: { type: 'string', default: process.env.PORT ?? '3001' },
        cluster: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (error) {
    err.write(`${(error as Error).message}\n\n${usage}\n`);
    return 2;
  }
  const { values, positionals } = parsed;
  const [command, file] = positionals;
  if (values.help || !command) {
    out.write(`${usage}\n`);
    return values.help ? 0 : 2;
  }
  if (command === 'serve') {
    const { runDemo } = await import('../demo/main.js');
    if (values.cluster !== undefined && (process.env.RXWIRE_CLUSTER_SECRET ?? '').length < 32) {
      err.write(
        '--cluster needs RXWIRE_CLUSTER_SECRET: the same secret of 32+ bytes on every node\n',
      );
      return 2;
    }
    await runDemo(Number(values.port), process.env.RXWIRE_DEMO_SECRET, values.cluster);
    return -1; // keeps running until a signal
  }
  if (command !== 'stream' || !file) {
    err.write(
      `${command === 'stream' ? 'stream needs a WAV file' : `unknown command '${command}'`}\n\n${usage}\n`,
    );
    return 2;
  }
  return stream(file, {
    url: values.url,
    realtime: values.realtime,
    token: values.token,
    streamId: Number(values['stream-id']),
    frameMs: Number(values['frame-ms']),
    out,
    err,
  });
}

interface StreamOptions {
  url: string;
  realtime: boolean;
  token: string | undefined;
  streamId: number;
  frameMs: number;
  out: NodeJS.WritableStream;
  err: NodeJS.WriteStream | NodeJS.WritableStream;
}

async function stream(file: string, o: StreamOptions): Promise<number> {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(file);
  } catch (error) {
    o.err.write(`cannot read ${file}: ${(error as Error).message}\n`);
    return 1;
  }
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
      o.err.write(`cannot connect to ${o.url}: ${state.error?.message ?? 'unknown error'}\n`);
      return 1;
    }
    let stats: AudioStats | undefined;
    client.audioStats$.subscribe((s) => (stats = s));
    let seconds = 0;
    let total = 0;
    // A first pass in memory gives the duration for the progress bar.
    const duration = await lastValueFrom(
      fromWav(bytes, { frameMs: o.frameMs }).pipe(
        reduce((sum, c) => sum + c.samples.length / c.channels / c.sampleRate, 0),
      ),
    );
    const progress = new Progress(o.err, duration);
    await lastValueFrom(
      fromWav(bytes, { realtime: o.realtime, frameMs: o.frameMs }).pipe(
        tap((chunk) => {
          const sent = { ...chunk, streamId: o.streamId };
          client.audio.next(sent);
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
      `${file}: ${total} frames (${seconds.toFixed(2)} s): sent ${s.sent}, ` +
        `dropped offline ${s.droppedOffline}, dropped for backpressure ${s.droppedBackpressure}, ` +
        `${(s.bytesSent / 1024).toFixed(1)} KiB\n`,
    );
    // ws sends the close frame after every queued frame, so nothing is cut off.
    client.disconnect();
    await firstValueFrom(client.state$.pipe(filter((st) => st.status === 'disconnected')));
    return s.droppedOffline + s.droppedBackpressure + s.invalid === 0 ? 0 : 3;
  } catch (error) {
    o.err.write(`stream failed: ${(error as Error).message}\n`);
    return 1;
  } finally {
    client.dispose();
  }
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

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      if (code >= 0) process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`${(error as Error)?.stack ?? String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
