import { createClient, RxwireTypeError } from '../../src/index';
import { FakeServer } from '../../src/testing/index';

describe('options', () => {
  const Ctor = new FakeServer().WebSocket;

  it('names WebSocketCtor when no constructor exists (Node 20 has no global WebSocket)', () => {
    expect(() => createClient({ autoConnect: false })).toThrow(/WebSocketCtor/);
    try {
      createClient({ autoConnect: false });
    } catch (e) {
      expect(e).toBeInstanceOf(RxwireTypeError);
      expect(e).toMatchObject({ code: 'RXWIRE_INVALID_OPTION' });
    }
  });

  it.each([
    [{ url: 'http://x' }, /'url'/],
    [{ reconnect: { jitter: 2 } }, /reconnect.jitter/],
    [{ reconnect: { factor: 0.5 } }, /reconnect.factor/],
    [{ reconnect: { initialDelay: 5000, maxDelay: 1000 } }, /reconnect.maxDelay/],
    [{ reconnect: { maxAttempts: -1 } }, /reconnect.maxAttempts/],
    [{ reconnect: { maxAttempts: 1.5 } }, /reconnect.maxAttempts/],
    [{ heartbeat: { interval: 0 } }, /heartbeat.interval/],
    [{ queue: { limit: -1 } }, /queue.limit/],
    [{ queue: { overflow: 'later' as 'error' } }, /queue.overflow/],
    [{ connectTimeout: -5 }, /connectTimeout/],
  ])('fails fast on %j', (options, message) => {
    expect(() => createClient({ WebSocketCtor: Ctor, autoConnect: false, ...options })).toThrow(
      message,
    );
  });

  it('defaults the URL to port 3001 on localhost, path /ws, outside a browser', () => {
    const fake = new FakeServer({ behavior: 'hang' });
    const client = createClient({ WebSocketCtor: fake.WebSocket });
    // The documented default; nothing listens or connects here (the fake never opens).
    expect(new URL(fake.last!.url)).toMatchObject({
      protocol: 'ws:',
      hostname: 'localhost',
      port: '3001',
      pathname: '/ws',
    });
    client.dispose();
  });

  it('in a browser defaults to wss://<host>/ws on https pages and ws:// on http', () => {
    const g = globalThis as { location?: unknown };
    for (const [protocol, expected] of [
      ['https:', 'wss://app.example:8443/ws'],
      ['http:', 'ws://app.example:8443/ws'],
    ]) {
      g.location = { protocol, host: 'app.example:8443' };
      try {
        const fake = new FakeServer({ behavior: 'hang' });
        const client = createClient({ WebSocketCtor: fake.WebSocket });
        expect(fake.last!.url).toBe(expected);
        client.dispose();
      } finally {
        delete g.location;
      }
    }
  });

  it('is usable after dispose() only to read state', () => {
    const client = createClient({ WebSocketCtor: Ctor, autoConnect: false });
    client.dispose();
    expect(() => client.send('x', 1)).toThrow(expect.objectContaining({ code: 'RXWIRE_DISPOSED' }));
    expect(() => client.connect()).toThrow(expect.objectContaining({ code: 'RXWIRE_DISPOSED' }));
    expect(client.state.status).toBe('disconnected');
  });
});
