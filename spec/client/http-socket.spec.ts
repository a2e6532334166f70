// HttpSocket, the WebSocket-shaped object of the HTTP fallback transport, with
// an injected fetch: the SSE parser on chunks split anywhere, open/message/
// binary/close events, POST batching with one request in flight,
// bufferedAmount, and the failures that count as a drop (1006).
import { HttpSocket, SseParser, httpEndpoint } from '../../src/client/http-socket.js';
import { createClient, type ClientOptions } from '../../src/index.js';
import { FakeServer } from '../../src/testing/index.js';

interface Call {
  url: string;
  init: RequestInit;
  respond(status: number): void;
  fail(error: unknown): void;
}

/** A fetch whose GET answers with a stream the test writes to, and whose POSTs wait for the test. */
function fakeFetch() {
  let stream!: ReadableStreamDefaultController<Uint8Array>;
  const posts: Call[] = [];
  const encoder = new TextEncoder();
  // Like a browser's fetch: called with `this` set to another object, it throws.
  const fetch = function (this: unknown, url: string, init: RequestInit = {}) {
    if (this !== undefined && this !== globalThis) throw new TypeError('Illegal invocation');
    if ((init.method ?? 'GET') === 'GET') {
      const body = new ReadableStream<Uint8Array>({ start: (c) => void (stream = c) });
      init.signal?.addEventListener('abort', () => {
        try {
          stream.error(new Error('aborted'));
        } catch {
          // already closed
        }
      });
      return Promise.resolve(new Response(body, { status: 200 }));
    }
    return new Promise<Response>((resolve, reject) => {
      posts.push({
        url,
        init,
        respond: (status) => resolve(new Response(null, { status })),
        fail: reject,
      });
    });
  } as typeof globalThis.fetch;
  return {
    fetch,
    posts,
    write: (text: string) => stream.enqueue(encoder.encode(text)),
    end: () => stream.close(),
  };
}

const tick = () => new Promise((r) => setTimeout(r, 0));

function record(socket: HttpSocket) {
  const events: Array<{ type: string; data?: unknown; code?: number; wasClean?: boolean }> = [];
  socket.onopen = () => events.push({ type: 'open' });
  socket.onmessage = ({ data }) => events.push({ type: 'message', data });
  socket.onerror = () => events.push({ type: 'error' });
  socket.onclose = ({ code, wasClean }) => events.push({ type: 'close', code, wasClean });
  return events;
}

const OPEN_EVENT = 'event: open\ndata: {"id":"c1","key":"k1"}\n\n';

describe('SseParser', () => {
  const text =
    ': keepalive\r\n\r\nevent: open\r\ndata: {"id":"x"}\r\n\r\ndata: one\n\ndata:two\rdata: lines\r\r' +
    'event: close\ndata: {"code":1000}\n\n';
  const expected = [
    ['open', '{"id":"x"}'],
    ['message', 'one'],
    ['message', 'two\nlines'],
    ['close', '{"code":1000}'],
  ];

  it('parses every event whole', () => {
    const got: string[][] = [];
    new SseParser((e, d) => got.push([e, d])).push(text);
    expect(got).toEqual(expected);
  });

  it('dispatches a CR-terminated event at once, and skips the LF of a CRLF split across chunks', () => {
    const got: string[][] = [];
    const parser = new SseParser((e, d) => got.push([e, d]));
    parser.push('data: x\r\r');
    expect(got).toEqual([['message', 'x']]);
    parser.push('data: y\r');
    parser.push('\n\r');
    parser.push('\n');
    expect(got).toEqual([
      ['message', 'x'],
      ['message', 'y'],
    ]);
  });

  it.each([1, 2, 3, 5, 7])('parses chunks of %i characters the same way', (size) => {
    const got: string[][] = [];
    const parser = new SseParser((e, d) => got.push([e, d]));
    for (let i = 0; i < text.length; i += size) parser.push(text.slice(i, i + size));
    expect(got).toEqual(expected);
  });
});

describe('HttpSocket', () => {
  it('maps ws:// and wss:// URLs to the /http endpoint', () => {
    expect(httpEndpoint('ws://h:1/ws')).toBe('http://h:1/ws/http');
    expect(httpEndpoint('wss://h/ws/?a=1')).toBe('https://h/ws/http?a=1');
  });

  it('opens on the open event, delivers text and binary frames, and closes with the echo', async () => {
    const f = fakeFetch();
    const socket = new HttpSocket('ws://h/ws', undefined, { fetch: f.fetch });
    const events = record(socket);
    expect(socket.readyState).toBe(HttpSocket.CONNECTING);
    expect(() => socket.send('x')).toThrow(/CONNECTING/);
    f.write(OPEN_EVENT);
    await tick();
    expect(socket.readyState).toBe(HttpSocket.OPEN);
    f.write('data: {"type":"a"}\n\nevent: binary\ndata: AQID\n\n');
    await tick();
    expect(events[1]).toEqual({ type: 'message', data: '{"type":"a"}' });
    expect(new Uint8Array(events[2]!.data as ArrayBuffer)).toEqual(new Uint8Array([1, 2, 3]));

    socket.close(1000, 'bye');
    expect(socket.readyState).toBe(HttpSocket.CLOSING);
    expect(JSON.parse(String(f.posts[0]!.init.body))).toEqual([
      { close: { code: 1000, reason: 'bye' } },
    ]);
    f.posts[0]!.respond(204);
    f.write('event: close\ndata: {"code":1000,"reason":"bye"}\n\n');
    await tick();
    expect(socket.readyState).toBe(HttpSocket.CLOSED);
    expect(events.at(-1)).toEqual({ type: 'close', code: 1000, wasClean: true });
  });

  it('keeps one POST in flight, batches what queued meanwhile, and counts bufferedAmount', async () => {
    const f = fakeFetch();
    const socket = new HttpSocket('ws://h/ws', undefined, { fetch: f.fetch });
    record(socket);
    f.write(OPEN_EVENT);
    await tick();
    socket.send('one');
    socket.send('two');
    socket.send(new Uint8Array([255, 0, 7]));
    expect(f.posts).toHaveLength(1);
    expect(f.posts[0]!.url).toBe('http://h/ws/http?id=c1');
    expect((f.posts[0]!.init.headers as Record<string, string>)['X-Rxwire-Key']).toBe('k1');
    expect(JSON.parse(String(f.posts[0]!.init.body))).toEqual(['one']);
    expect(socket.bufferedAmount).toBe(3 + 3 + 3);
    f.posts[0]!.respond(204);
    await tick();
    expect(f.posts).toHaveLength(2);
    expect(JSON.parse(String(f.posts[1]!.init.body))).toEqual(['two', { b: '/wAH' }]);
    expect(socket.bufferedAmount).toBe(6);
    f.posts[1]!.respond(204);
    await tick();
    expect(socket.bufferedAmount).toBe(0);
  });

  it('a failed POST drops the connection: error, then close 1006', async () => {
    const f = fakeFetch();
    const socket = new HttpSocket('ws://h/ws', undefined, { fetch: f.fetch });
    const events = record(socket);
    f.write(OPEN_EVENT);
    await tick();
    socket.send('one');
    f.posts[0]!.respond(404);
    await tick();
    await tick();
    expect(events.slice(-2)).toEqual([
      { type: 'error' },
      { type: 'close', code: 1006, wasClean: false },
    ]);
  });

  it('a stream that ends without a close event is a drop (1006)', async () => {
    const f = fakeFetch();
    const socket = new HttpSocket('ws://h/ws', undefined, { fetch: f.fetch });
    const events = record(socket);
    f.write(OPEN_EVENT);
    f.end();
    await tick();
    await tick();
    expect(events.map((e) => e.type)).toEqual(['open', 'error', 'close']);
    expect(events.at(-1)).toMatchObject({ code: 1006, wasClean: false });
  });

  it('abandon() sends nothing and closes with 1006', async () => {
    const f = fakeFetch();
    const socket = new HttpSocket('ws://h/ws', undefined, { fetch: f.fetch });
    const events = record(socket);
    f.write(OPEN_EVENT);
    await tick();
    socket.abandon();
    await tick();
    expect(f.posts).toHaveLength(0);
    expect(events.at(-1)).toEqual({ type: 'close', code: 1006, wasClean: false });
  });
});

describe('createClient transport options', () => {
  const fetch = fakeFetch().fetch;
  // Node 22 has a global WebSocket; these cases are about a runtime without one.
  const g = globalThis as { WebSocket?: unknown };
  const saved = g.WebSocket;
  beforeEach(() => delete g.WebSocket);
  afterEach(() => {
    if (saved !== undefined) g.WebSocket = saved;
  });

  it.each([
    ['an empty list', { transports: [] }, /'transports'/],
    ['an unknown transport', { transports: ['pigeon'] }, /'transports\[0\]'/],
    ['fallbackAfter 0', { transports: ['websocket', 'http'], fallbackAfter: 0 }, /'fallbackAfter'/],
    ['a negative probeInterval', { transports: ['http'], probeInterval: -1 }, /'probeInterval'/],
    ['no WebSocket and no http', { transports: ['websocket'] }, /WebSocketCtor/],
  ])('rejects %s', (_name, options, message) => {
    expect(() =>
      createClient({ autoConnect: false, fetch, ...(options as ClientOptions) }),
    ).toThrow(message);
  });

  it('starts on HTTP when there is no WebSocket constructor and http is allowed', () => {
    const client = createClient({ autoConnect: false, fetch, transports: ['websocket', 'http'] });
    expect(client.state.transport).toBe('http');
    client.dispose();
  });

  it('starts on WebSocket by default', () => {
    const fake = new FakeServer();
    const client = createClient({ autoConnect: false, WebSocketCtor: fake.WebSocket });
    expect(client.state.transport).toBe('websocket');
    client.dispose();
  });
});
