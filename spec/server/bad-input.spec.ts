// Over 10,000 generated bad frames from several connections while a
// well-behaved client streams requests and messages: every bad frame gets its
// $error or close code, the good client gets every reply, and the heap comes back.
import { firstValueFrom, interval, map, take } from 'rxjs';
import { CloseCode, type Envelope, type Protocol } from '../../src/protocol/index.js';
import { Disposer, RawClient, envelope, startServer, within } from '../helpers/server-harness.js';
import { settledHeap } from '../helpers/server-gc.js';

interface Api extends Protocol {
  client: { say: { text: string } };
  server: { said: { text: string } };
  requests: { count: { request: { to: number }; response: number } };
}

const disposer = new Disposer();
afterEach(() => disposer.drain());

/** Small deterministic PRNG (mulberry32), so every run sends the same garbage. */
function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const now = (): string => new Date().toISOString();

/** One bad frame that must be answered with exactly one `$error`. */
function badFrame(random: () => number, n: number): string | Buffer {
  const int = (max: number): number => Math.floor(random() * max);
  switch (n % 10) {
    case 0: // binary garbage
      return Buffer.from(Array.from({ length: 1 + int(256) }, () => int(256)));
    case 1: // printable noise
      return (
        'x' + Array.from({ length: int(200) }, () => String.fromCharCode(32 + int(95))).join('')
      );
    case 2: {
      // truncated JSON
      const whole = JSON.stringify(envelope('say', { text: 'cut short' }));
      return whole.slice(0, 1 + int(whole.length - 2));
    }
    case 3: {
      // deep nesting, past maxDepth
      const depth = 600 + int(3_000);
      return `{"type":"say","id":"d${n}","timestamp":"${now()}","payload":${'['.repeat(depth)}${']'.repeat(depth)}}`;
    }
    case 4: {
      // wrong field types
      const variants = [
        { type: 5, id: `w${n}`, payload: null, timestamp: now() },
        { type: 'say', id: 7, payload: null, timestamp: now() },
        { type: 'say', id: `w${n}`, payload: null, timestamp: 1 },
        { type: 'say', id: `w${n}`, payload: null, timestamp: now(), request: 'yes' },
        { type: 'say', id: `w${n}`, payload: null, timestamp: now(), replyTo: 5 },
      ];
      return JSON.stringify(variants[int(variants.length)]);
    }
    case 5: // reserved but unknown type
      return JSON.stringify(envelope(`$x${int(1000)}`, {}));
    case 6: // payload failing the validator
      return JSON.stringify(envelope('say', { text: int(1000) }));
    case 7: // request nobody handles
      return JSON.stringify(envelope('nobody', {}, { request: true }));
    case 8: // JSON that is not an object
      return ['null', '42', '"str"', '[]', 'true'][int(5)]!;
    default: // $cancel with no replyTo
      return JSON.stringify(envelope('$cancel', null));
  }
}

describe('bad input', () => {
  jest.setTimeout(60_000);

  it('answers ≥10,000 bad frames while a good client gets every reply, and the heap comes back', async () => {
    const { server, url } = await startServer<Api>(disposer, {
      heartbeat: false,
      maxPayload: 64 * 1024,
      // High enough that every bad frame is parsed and answered (the flood limit has its own test).
      rateLimit: { messages: 1_000_000, perMs: 1_000 },
      validate: { say: (p) => typeof (p as { text?: unknown })?.text === 'string' },
    });
    server.handle('count', ({ to }) => interval(1).pipe(take(to)));
    server.sessions$.subscribe((s) =>
      s
        .on('say')
        .pipe(map(({ text }) => ({ text: `echo ${text}` })))
        .subscribe((m) => s.send('said', m)),
    );

    async function round(badClients: number, framesEach: number, requests: number, says: number) {
      const badWork = Array.from({ length: badClients }, async (_, c) => {
        const { client } = await RawClient.open(url, disposer);
        const random = prng(1_000 + c);
        for (let i = 0; i < framesEach; i++) client.sendRaw(badFrame(random, i));
        const ping = client.send(envelope('$ping'));
        const frames = await client.until((f) => f.type === '$pong' && f.replyTo === ping, 20_000);
        const errors = frames.filter((f) => f.type === '$error').length;
        client.ws.close(1000);
        await client.waitClosed();
        return errors;
      });
      // Frames that end their connection: oversize (1009) and text that is not UTF-8 (1007).
      const fatalWork = Array.from({ length: badClients }, async (_, c) => {
        const { client } = await RawClient.open(url, disposer);
        if (c % 2 === 0)
          client.sendRaw(JSON.stringify(envelope('say', { text: 'y'.repeat(70_000) })));
        else client.ws.send(Buffer.from([0xc3, 0x28, 0xff]), { binary: false });
        return (await client.waitClosed(10_000)).code;
      });
      const goodWork = (async () => {
        const { client } = await RawClient.open(url, disposer);
        const ids = Array.from({ length: requests }, () => client.request('count', { to: 20 }));
        for (let i = 0; i < says; i++) client.send(envelope('say', { text: String(i) }));
        const byRequest = new Map<string, Envelope[]>(ids.map((id) => [id, []]));
        const echoes: string[] = [];
        let completes = 0;
        while (completes < requests || echoes.length < says) {
          const f = await client.next(20_000);
          if (f.type === 'said') echoes.push((f.payload as { text: string }).text);
          else byRequest.get(f.replyTo!)!.push(f);
          if (f.type === '$complete') completes += 1;
        }
        client.ws.close(1000);
        await client.waitClosed();
        return { byRequest, echoes };
      })();
      const [errors, fatal, good] = await Promise.all([
        Promise.all(badWork),
        Promise.all(fatalWork),
        goodWork,
      ]);
      return { errors, fatal, good };
    }

    // Warm up every code path once, so the baseline includes compiled code and caches.
    await round(2, 200, 10, 20);
    await waitForNoSessions();
    const before = await settledHeap();

    const badClients = 5;
    const framesEach = 2_100;
    const requests = 100;
    const says = 300;
    const { errors, fatal, good } = await round(badClients, framesEach, requests, says);

    // Every bad frame was answered with one $error; the connection stayed up for the next.
    expect(errors).toEqual(Array.from({ length: badClients }, () => framesEach));
    expect(badClients * framesEach + fatal.length).toBeGreaterThanOrEqual(10_000);
    expect(fatal).toEqual(
      Array.from({ length: badClients }, (_, c) => (c % 2 === 0 ? CloseCode.MessageTooBig : 1007)),
    );
    // The well-behaved client got every reply, in order, with no crosstalk.
    for (const frames of good.byRequest.values()) {
      expect(frames.map((f) => f.type)).toEqual([...Array(20).fill('$next'), '$complete']);
      expect(frames.slice(0, 20).map((f) => f.payload)).toEqual(
        Array.from({ length: 20 }, (_, i) => i),
      );
    }
    expect(good.echoes).toEqual(Array.from({ length: says }, (_, i) => `echo ${i}`));

    await waitForNoSessions();
    // Still serving.
    const { welcome } = await RawClient.open(url, disposer);
    expect(welcome.type).toBe('$welcome');

    const after = await settledHeap();
    expect(after).toBeLessThanOrEqual(before * 1.1);

    async function waitForNoSessions(): Promise<void> {
      const live = [...server.sessions.values()];
      await within(
        Promise.all(live.map((s) => firstValueFrom(s.closed$))),
        10_000,
        'every session to end',
      );
    }
  });
});
