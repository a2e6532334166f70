// The README's session_control snippet, run for real: a client starts a
// stream with a JSON message, sends binary audio, stops it; the server's
// pipeline collects exactly that stream's chunks.
import WebSocket from 'ws';
import { createServer as createHttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { filter, firstValueFrom, mergeMap, takeUntil, toArray } from 'rxjs';
import { createClient, type Protocol } from '../../src/index';
import { createServer } from '../../server/index';
import { sine, toWav, type AudioChunk } from '../../src/audio/index';

interface P extends Protocol {
  client: { session_control: { action: 'start' | 'stop'; streamId: number } };
  server: Record<string, never>;
}

it('collects one stream between start and stop, as in the README', async () => {
  const http = createHttpServer();
  const server = createServer<P>({ server: http });
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', () => r()));
  const saved: Uint8Array[] = [];
  const save = (wav: Uint8Array) => saved.push(wav);

  // #region readme-audio-server
  server.sessions$.subscribe((session) => {
    session
      .on('session_control')
      .pipe(
        filter((c) => c.action === 'start'),
        mergeMap(({ streamId }) =>
          session
            .audioStream(streamId)
            .pipe(
              takeUntil(
                session
                  .on('session_control')
                  .pipe(filter((c) => c.action === 'stop' && c.streamId === streamId)),
              ),
              toArray(),
            ),
        ),
      )
      .subscribe((chunks) => save(toWav(chunks)));
  });
  // #endregion

  const client = createClient<P>({
    url: `ws://127.0.0.1:${(http.address() as AddressInfo).port}/ws`,
    WebSocketCtor: WebSocket,
  });
  try {
    await firstValueFrom(client.state$.pipe(filter((s) => s.status === 'connected')));
    const chunks: AudioChunk[] = await firstValueFrom(
      sine(440, { durationMs: 100, format: 'pcm16', realtime: false, streamId: 5 }).pipe(toArray()),
    );
    client.send('session_control', { action: 'start', streamId: 5 });
    chunks.forEach((c) => client.audio.next(c));
    client.audio.next({ ...chunks[0]!, streamId: 6 }); // another stream: not collected
    client.send('session_control', { action: 'stop', streamId: 5 });
    const deadline = Date.now() + 10_000;
    while (saved.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(saved).toHaveLength(1);
    expect(saved[0]).toEqual(toWav(chunks));
  } finally {
    client.dispose();
    await server.close();
    http.close();
  }
});
