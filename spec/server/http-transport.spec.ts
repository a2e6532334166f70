// The server side of the HTTP fallback transport, by hand with fetch: the
// event stream, POST batches and their statuses, allowedOrigins, the close
// handshake, a client that goes away, and sharing the port with Express.
import { createServer as createHttpServer } from 'node:http';
import express from 'express';
import { firstValueFrom } from 'rxjs';
import { createServer } from '../../server/index.js';
import { SseParser } from '../../src/client/http-socket.js';
import {
  Disposer,
  closeHttp,
  envelope,
  listen,
  startServer,
  within,
} from '../helpers/server-harness.js';

const disposer = new Disposer();
afterEach(() => disposer.drain());

/** Opens an event stream and collects its events. */
async function openStream(base: string, headers: Record<string, string> = {}) {
  const abort = new AbortController();
  disposer.add(() => abort.abort());
  const response = await fetch(`${base}/http`, {
    headers: { Accept: 'text/event-stream', ...headers },
    signal: abort.signal,
  });
  const events: Array<{ event: string; data: string }> = [];
  const waiters: Array<() => void> = [];
  let ended = false;
  if (response.ok && response.body) {
    const parser = new SseParser((event, data) => {
      events.push({ event, data });
      for (const w of waiters.splice(0)) w();
    });
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    void (async () => {
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          parser.push(decoder.decode(value, { stream: true }));
        }
      } catch {
        // aborted
      }
      ended = true;
      for (const w of waiters.splice(0)) w();
    })();
  }
  const next = async (index: number) => {
    while (events.length <= index && !ended) await new Promise<void>((r) => waiters.push(r));
    return events[index];
  };
  const open = response.ok ? JSON.parse((await next(0))!.data) : undefined;
  return {
    response,
    events,
    abort,
    next: (index: number) => within(next(index), 5_000, `event ${index}`),
    isEnded: () => ended,
    id: open?.id as string,
    key: open?.key as string,
  };
}

function post(base: string, id: string, key: string | undefined, body: string) {
  return fetch(`${base}/http?id=${encodeURIComponent(id)}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...(key ? { 'X-Rxwire-Key': key } : {}) },
    body,
  });
}

const hello = () => JSON.stringify(envelope('$hello', { v: 1 }));

describe('HTTP fallback transport (server)', () => {
  it('serves the event stream and POSTs: $hello, messages, a close echoed on the stream', async () => {
    const { server, url } = await startServer(disposer, { heartbeat: false, fallback: true });
    const base = url.replace(/^ws/, 'http');
    const stream = await openStream(base);
    expect(stream.response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(stream.response.headers.get('cache-control')).toBe('no-cache, no-transform');
    expect(stream.response.headers.get('x-accel-buffering')).toBe('no');
    expect(stream.events[0]!.event).toBe('open');

    const opened = firstValueFrom(server.sessions$);
    expect((await post(base, stream.id, stream.key, JSON.stringify([hello()]))).status).toBe(204);
    const session = await within(opened, 5_000, 'the session');
    expect(session.id).toBe(stream.id);
    expect(session.transport).toBe('http');
    const welcome = JSON.parse((await stream.next(1))!.data);
    expect(welcome).toMatchObject({ type: '$welcome', payload: { sessionId: stream.id } });

    const got: unknown[] = [];
    session.on('chat').subscribe((p) => got.push(p));
    const audio = firstValueFrom(session.audio$);
    const frame = Buffer.alloc(24 + 4);
    frame.writeUInt8(1, 0); // version
    frame.writeUInt8(1, 1); // pcm16
    frame.writeUInt8(1, 2); // mono
    frame.writeUInt32LE(16_000, 12);
    frame.writeDoubleLE(5, 16);
    const body = [
      JSON.stringify(envelope('chat', { n: 1 })),
      { b: frame.toString('base64') },
      JSON.stringify(envelope('chat', { n: 2 })),
    ];
    expect((await post(base, stream.id, stream.key, JSON.stringify(body))).status).toBe(204);
    expect(got).toEqual([{ n: 1 }, { n: 2 }]);
    expect(await within(audio, 5_000, 'the audio chunk')).toMatchObject({
      sampleRate: 16_000,
      timestamp: 5,
    });

    session.send('note', { hi: true });
    expect(JSON.parse((await stream.next(2))!.data)).toMatchObject({
      type: 'note',
      payload: { hi: true },
    });

    const closed = firstValueFrom(session.closed$);
    const bye = JSON.stringify([{ close: { code: 1000, reason: 'bye' } }]);
    expect((await post(base, stream.id, stream.key, bye)).status).toBe(204);
    expect(await stream.next(3)).toEqual({ event: 'close', data: '{"code":1000,"reason":"bye"}' });
    expect(await within(closed, 5_000, 'the session to end')).toMatchObject({ code: 1000 });
    // The connection is gone: its id is unknown now.
    expect((await post(base, stream.id, stream.key, '[]')).status).toBe(404);
  });

  it('answers 400, 403, 404, 405 and 413', async () => {
    const { url } = await startServer(disposer, {
      heartbeat: false,
      fallback: true,
      maxPayload: 64,
    });
    const base = url.replace(/^ws/, 'http');
    const stream = await openStream(base);
    expect((await post(base, 'nope', stream.key, '[]')).status).toBe(404);
    expect((await post(base, stream.id, undefined, '[]')).status).toBe(403);
    expect((await post(base, stream.id, 'AAAA', '[]')).status).toBe(403);
    expect((await post(base, stream.id, stream.key, '{"not":"an array"}')).status).toBe(400);
    expect((await post(base, stream.id, stream.key, '[1]')).status).toBe(400);
    expect((await post(base, stream.id, stream.key, '[{"b":"not base64!"}]')).status).toBe(400);
    expect((await post(base, stream.id, stream.key, `["${'x'.repeat(64 * 16)}"]`)).status).toBe(
      413,
    );
    expect((await fetch(`${base}/http`, { method: 'PUT' })).status).toBe(405);
    // The stream is still up after all that.
    expect(stream.isEnded()).toBe(false);
  });

  it('refuses disallowed origins with 403, like upgrades', async () => {
    const { url } = await startServer(disposer, {
      heartbeat: false,
      fallback: true,
      allowedOrigins: ['https://good.example'],
    });
    const base = url.replace(/^ws/, 'http');
    const bad = await openStream(base, { Origin: 'https://evil.example' });
    expect(bad.response.status).toBe(403);
    const good = await openStream(base, { Origin: 'https://good.example' });
    expect(good.response.status).toBe(200);
    const refused = await fetch(`${base}/http?id=${good.id}`, {
      method: 'POST',
      headers: { Origin: 'https://evil.example', 'X-Rxwire-Key': good.key },
      body: '[]',
    });
    expect(refused.status).toBe(403);
  });

  it('a stream that goes away is a drop: the session waits for a resume', async () => {
    const { server, url } = await startServer(disposer, { heartbeat: false, fallback: true });
    const base = url.replace(/^ws/, 'http');
    const stream = await openStream(base);
    const opened = firstValueFrom(server.sessions$);
    await post(base, stream.id, stream.key, JSON.stringify([hello()]));
    const session = await within(opened, 5_000, 'the session');
    expect(session.connected).toBe(true);
    stream.abort.abort();
    await within(
      (async () => {
        while (session.connected) await new Promise((r) => setTimeout(r, 5));
      })(),
      5_000,
      'the drop',
    );
    expect(session.state).toBe('open');
    expect(session.transport).toBe('http'); // the last one, while detached
  });

  it('shares the port with Express and restores its listener on close', async () => {
    const app = express();
    app.get('/hello', (_req, res) => void res.send('express here'));
    const http = createHttpServer(app);
    const port = await listen(http);
    disposer.add(() => closeHttp(http));
    const server = createServer({ server: http, fallback: true, heartbeat: false });
    const base = `http://127.0.0.1:${port}/ws`;
    expect(await (await fetch(`http://127.0.0.1:${port}/hello`)).text()).toBe('express here');
    const stream = await openStream(base);
    expect(stream.response.status).toBe(200);
    await server.close();
    expect(await stream.next(1)).toMatchObject({ event: 'close' });
    expect(http.listeners('request')).toEqual([app]);
    expect(await (await fetch(`http://127.0.0.1:${port}/hello`)).text()).toBe('express here');
  });

  it('works with `port` (rxwire owns the http server)', async () => {
    const server = createServer({ port: 0, host: '127.0.0.1', fallback: true, heartbeat: false });
    disposer.add(() => server.close());
    const { port } = await server.ready();
    const base = `http://127.0.0.1:${port}/ws`;
    expect((await fetch(`http://127.0.0.1:${port}/ws`)).status).toBe(426);
    const stream = await openStream(base);
    expect(stream.events[0]!.event).toBe('open');
  });
});
