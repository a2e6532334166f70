import { ProtocolError, RemoteError, type RxwireError, type Validator } from '../../src/index';
import { fakeClient } from '../helpers/fake-client';
import { testScheduler } from '../helpers/marbles';

interface Dash {
  client: Record<string, never>;
  server: { status: { cpu: number }; news: string };
}

describe('inbound frames', () => {
  it('routes payloads by type and emits every app envelope on messages$', () => {
    testScheduler().run(({ expectObservable }) => {
      const { fake, client } = fakeClient<Dash>();
      client.connect();
      fake.scheduler.schedule(() => {
        fake.last!.push({ type: 'status', payload: { cpu: 1 } });
        fake.last!.push({ type: 'news', payload: 'hello' });
        fake.last!.push({ type: 'status', payload: { cpu: 2 } });
      }, 10);
      expectObservable(client.on('status')).toBe('10ms (ab)', { a: { cpu: 1 }, b: { cpu: 2 } });
      expectObservable(client.on('news')).toBe('10ms a', { a: 'hello' });
      expectObservable(client.messages$.pipe()).toBe('10ms (abc)', {
        a: expect.objectContaining({ type: 'status' }),
        b: expect.objectContaining({ type: 'news' }),
        c: expect.objectContaining({ type: 'status' }),
      });
    });
  });

  it('reports malformed frames on errors$, answers with $error, and keeps going', () => {
    testScheduler().run(({ flush }) => {
      const { fake, client } = fakeClient<Dash>();
      const errors: RxwireError[] = [];
      const news: string[] = [];
      client.errors$.subscribe((e) => errors.push(e));
      client.on('news').subscribe((n) => news.push(n));
      client.connect();
      fake.scheduler.schedule(() => {
        const s = fake.last!;
        s.push('{not json');
        s.push('[1,2]');
        s.push(JSON.stringify({ type: 'news', payload: 'no id', timestamp: 'x' }));
        s.push(JSON.stringify({ type: '$bogus', id: 'b1', payload: 1, timestamp: 'x' }));
        s.push(new Uint8Array([1, 2, 3]).buffer);
        s.push({ type: 'news', payload: 'still alive' });
      }, 10);
      flush();
      expect(errors.map((e) => e.code)).toEqual([
        'RXWIRE_BAD_JSON',
        'RXWIRE_BAD_ENVELOPE',
        'RXWIRE_BAD_ENVELOPE',
        'RXWIRE_UNKNOWN_CONTROL',
        'RXWIRE_BAD_BINARY_FRAME',
      ]);
      expect(errors.every((e) => e instanceof ProtocolError)).toBe(true);
      expect(news).toEqual(['still alive']);
      expect(client.state.status).toBe('connected');
      const replies = fake.last!.envelopes.filter((e) => e.type === '$error');
      expect(replies.map((e) => (e.payload as { code: string }).code)).toEqual([
        'RXWIRE_BAD_JSON',
        'RXWIRE_BAD_ENVELOPE',
        'RXWIRE_BAD_ENVELOPE',
        'RXWIRE_UNKNOWN_CONTROL',
      ]);
      expect(replies[3]!.replyTo).toBe('b1');
      client.disconnect();
    });
  });

  it('drops payloads that fail a validator, with $error RXWIRE_INVALID_PAYLOAD', () => {
    testScheduler().run(({ flush }) => {
      const isStatus: Validator = (p) =>
        typeof (p as { cpu?: unknown })?.cpu === 'number' || 'cpu must be a number';
      const { fake, client } = fakeClient<Dash>({}, { validate: { status: isStatus } });
      const seen: unknown[] = [];
      const errors: RxwireError[] = [];
      client.on('status').subscribe((s) => seen.push(s));
      client.errors$.subscribe((e) => errors.push(e));
      client.connect();
      fake.scheduler.schedule(() => {
        fake.last!.push({ type: 'status', id: 'bad1', payload: { cpu: 'high' } });
        fake.last!.push({ type: 'status', payload: { cpu: 3 } });
      }, 10);
      flush();
      expect(seen).toEqual([{ cpu: 3 }]);
      expect(errors[0]).toMatchObject({ code: 'RXWIRE_INVALID_PAYLOAD' });
      expect(errors[0]!.message).toContain('cpu must be a number');
      const reply = fake.last!.envelopes.find((e) => e.type === '$error')!;
      expect(reply).toMatchObject({ replyTo: 'bad1', payload: { code: 'RXWIRE_INVALID_PAYLOAD' } });
      client.disconnect();
    });
  });

  it('accepts Standard Schema validators and uses their output', () => {
    testScheduler().run(({ flush }) => {
      const upper = {
        '~standard': {
          version: 1 as const,
          vendor: 'test',
          validate: (v: unknown) =>
            typeof v === 'string'
              ? { value: v.toUpperCase() }
              : { issues: [{ message: 'expected string', path: ['news'] }] },
        },
      };
      const { fake, client } = fakeClient<Dash>({}, { validate: { news: upper } });
      const seen: string[] = [];
      const errors: string[] = [];
      client.on('news').subscribe((n) => seen.push(n));
      client.errors$.subscribe((e) => errors.push(e.message));
      client.connect();
      fake.scheduler.schedule(() => {
        fake.last!.push({ type: 'news', payload: 'hi' });
        fake.last!.push({ type: 'news', payload: 42 });
      }, 10);
      flush();
      expect(seen).toEqual(['HI']);
      expect(errors).toEqual([expect.stringContaining('news: expected string')]);
      client.disconnect();
    });
  });

  it('answers a server $ping with $pong', () => {
    testScheduler().run(({ flush }) => {
      const { fake, client } = fakeClient();
      client.connect();
      fake.scheduler.schedule(() => fake.last!.push({ type: '$ping', id: 'p1' }), 10);
      flush();
      expect(fake.last!.envelopes.find((e) => e.type === '$pong')).toMatchObject({ replyTo: 'p1' });
      client.disconnect();
    });
  });

  it('surfaces an $error that answers no request on errors$ as a RemoteError', () => {
    testScheduler().run(({ flush }) => {
      const { fake, client } = fakeClient();
      const errors: RxwireError[] = [];
      client.errors$.subscribe((e) => errors.push(e));
      client.connect();
      client.send('chat_message', { text: 'x' });
      fake.scheduler.schedule(() => {
        const sent = fake.last!.messages[0]!;
        fake.last!.push({
          type: '$error',
          replyTo: sent.id,
          payload: { code: 'RXWIRE_UNKNOWN_TYPE', message: 'unknown type chat_message' },
        });
      }, 10);
      flush();
      expect(errors).toHaveLength(1);
      expect(errors[0]).toBeInstanceOf(RemoteError);
      expect(errors[0]).toMatchObject({ code: 'RXWIRE_UNKNOWN_TYPE' });
      client.disconnect();
    });
  });

  it('on() streams survive reconnects and complete on dispose()', () => {
    testScheduler().run(({ flush }) => {
      const { fake, client } = fakeClient<Dash>({}, { reconnect: { jitter: 0 } });
      const news: string[] = [];
      let completed = false;
      client
        .on('news')
        .subscribe({ next: (n) => news.push(n), complete: () => (completed = true) });
      client.connect();
      fake.scheduler.schedule(() => fake.last!.push({ type: 'news', payload: 'one' }), 10);
      fake.scheduler.schedule(() => fake.last!.drop(), 20);
      fake.scheduler.schedule(() => fake.last!.push({ type: 'news', payload: 'two' }), 2000);
      fake.scheduler.schedule(() => client.dispose(), 3000);
      flush();
      expect(news).toEqual(['one', 'two']);
      expect(completed).toBe(true);
      expect(client.state.status).toBe('disconnected');
    });
  });
});
