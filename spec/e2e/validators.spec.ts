// Real zod 4 and valibot 1 schemas as the `validate` option on both ends (both
// implement Standard Schema), through the real client and server on
// loopback: valid payloads pass, a schema's transform reaches the
// subscriber (and the request handler), and an invalid payload never reaches
// one: the server answers it with `$error` RXWIRE_INVALID_PAYLOAD (the client
// sees it on `errors$`, or as the request's error), the client reports its
// own rejections on `errors$` and tells the server with `$error`.
import { createServer as createHttpServer } from 'node:http';
import { WebSocket } from 'ws';
import { firstValueFrom, take, toArray } from 'rxjs';
import * as v from 'valibot';
import { z } from 'zod';
import {
  createClient,
  RemoteError,
  type Client,
  type ClientOptions,
  type RxwireError,
  type StandardSchemaV1,
  type WebSocketConstructor,
} from '../../src/index.js';
import type { Protocol } from '../../src/protocol/index.js';
import { createServer, type ServerOptions, type Session } from '../../server/index.js';
import {
  Disposer,
  closeHttp,
  connected,
  listen,
  startServer,
  until,
  within,
} from '../helpers/server-harness.js';

interface Api extends Protocol {
  client: { say: { text: string }; rate: { stars: number } };
  server: { said: { text: string; at: Date } };
  requests: { sum: { request: { values: number[] }; response: number } };
}

/** The same rules in each library: `say.text` 1–20 characters, trimmed; `sum.values` numbers, sorted; `said.at` an ISO date, parsed. */
interface Schemas {
  say: StandardSchemaV1<{ text: string }>;
  rate: StandardSchemaV1<{ stars: number }>;
  sum: StandardSchemaV1<{ values: number[] }>;
  said: StandardSchemaV1<{ text: string; at: Date }>;
  /** A schema that can only be checked asynchronously: refused, validation must be synchronous. */
  slow: StandardSchemaV1<{ text: string }>;
}

const libraries: Array<[string, Schemas]> = [
  [
    'zod',
    {
      say: z.object({ text: z.string().trim().min(1).max(20) }),
      rate: z.object({ stars: z.number().int().min(1).max(5) }),
      sum: z.object({ values: z.array(z.number()).transform((a) => [...a].sort((x, y) => x - y)) }),
      said: z.object({ text: z.string(), at: z.iso.datetime().transform((s) => new Date(s)) }),
      slow: z.object({ text: z.string().refine(async () => true) }),
    },
  ],
  [
    'valibot',
    {
      say: v.object({ text: v.pipe(v.string(), v.trim(), v.minLength(1), v.maxLength(20)) }),
      rate: v.object({ stars: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(5)) }),
      sum: v.object({
        values: v.pipe(
          v.array(v.number()),
          v.transform((a) => [...a].sort((x, y) => x - y)),
        ),
      }),
      said: v.object({
        text: v.string(),
        at: v.pipe(
          v.string(),
          v.isoTimestamp(),
          v.transform((s) => new Date(s)),
        ),
      }),
      slow: v.objectAsync({
        text: v.pipeAsync(
          v.string(),
          v.checkAsync(async () => true),
        ),
      }),
    },
  ],
];

const disposer = new Disposer();
afterEach(() => disposer.drain());
jest.setTimeout(20_000);

describe.each(libraries)('%s schemas as validators', (_library, schemas) => {
  async function setup(
    serverOptions: Partial<ServerOptions<Api>> = {},
    clientOptions: ClientOptions<Api['server']> = {},
  ) {
    const warnings: Array<Record<string, unknown>> = [];
    const { server, url } = await startServer<Api>(disposer, {
      heartbeat: false,
      validate: { say: schemas.say, rate: schemas.rate, sum: schemas.sum },
      logger: { warn: (_message, context) => warnings.push(context ?? {}) },
      ...serverOptions,
    });
    server.handle('sum', ({ values }) => [values.reduce((a, b) => a + b, 0), values[0]!]);
    const sessions: Session<Api>[] = [];
    server.sessions$.subscribe((s) => sessions.push(s));
    const client = createClient<Api>({
      url,
      WebSocketCtor: WebSocket as unknown as WebSocketConstructor,
      heartbeat: false,
      ...clientOptions,
    });
    disposer.add(() => client.dispose());
    await connected(client);
    const errors: RxwireError[] = [];
    client.errors$.subscribe((e) => errors.push(e));
    return { server, client, session: sessions[0]!, errors, warnings };
  }

  /** A request round trip: everything sent before it was handled. */
  const roundTrip = (client: Client<Api>) =>
    within(
      firstValueFrom(client.request('sum', { values: [0] }).pipe(toArray())),
      5_000,
      'a round trip',
    );

  it('server: a valid message reaches the subscriber transformed; an invalid one gets $error RXWIRE_INVALID_PAYLOAD and reaches nobody', async () => {
    const { client, session, errors } = await setup();
    const said: string[] = [];
    const rated: number[] = [];
    session.on('say').subscribe(({ text }) => said.push(text));
    session.on('rate').subscribe(({ stars }) => rated.push(stars));

    client.send('say', { text: '  hello  ' }); // trimmed by the schema
    client.send('say', { text: '' }); // too short
    client.send('say', { text: 'x'.repeat(21) }); // too long
    client.send('rate', { stars: 4 });
    client.send('rate', { stars: 4.5 }); // not an integer
    client.send('rate', { stars: '5' } as never); // not a number
    client.send('say', null as never);
    await until(() => errors.length === 5, 5_000, 'five rejections');
    await roundTrip(client);

    expect(said).toEqual(['hello']);
    expect(rated).toEqual([4]);
    expect(errors.map((e) => [e.constructor, e.code])).toEqual(
      Array.from({ length: 5 }, () => [RemoteError, 'RXWIRE_INVALID_PAYLOAD']),
    );
    // The schema's own messages explain each rejection, with the field's path.
    expect(errors[0]!.message).toMatch(/^invalid 'say' payload: text: /);
    expect(errors[2]!.message).toMatch(/^invalid 'rate' payload: stars: /);
    expect(client.state.status).toBe('connected');
  });

  it('server: a request payload is validated before the handler, which gets the transformed value', async () => {
    const { client } = await setup();
    const sum = (values: unknown) =>
      firstValueFrom(client.request('sum', { values } as never).pipe(toArray()));
    // Sorted by the schema: the handler's second value is the smallest.
    expect(await sum([3, 1, 2])).toEqual([6, 1]);
    const refused = await sum([1, 'two']).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(RemoteError);
    expect(refused).toMatchObject({ code: 'RXWIRE_INVALID_PAYLOAD' });
    expect((refused as RemoteError).message).toMatch(/^invalid 'sum' payload: values\.1: /);
  });

  it('client: a valid message reaches the subscriber transformed; an invalid one is reported, reaches nobody, and the server hears of it', async () => {
    const { client, session, errors, warnings } = await setup(
      {},
      { validate: { said: schemas.said } },
    );
    const received = firstValueFrom(client.on('said').pipe(take(2), toArray()));
    const at = '2026-11-22T11:01:08.243Z';
    session.send('said', { text: 'first', at: at as never });
    session.send('said', { text: 'bad', at: 'yesterday' as never });
    session.send('said', { text: 42, at } as never);
    session.send('said', { text: 'last', at: at as never });
    const [first, last] = await within(received, 5_000, 'two messages');
    expect(first).toEqual({ text: 'first', at: new Date(at) });
    expect(first!.at).toBeInstanceOf(Date);
    expect(last!.text).toBe('last');
    expect(errors.map((e) => e.code)).toEqual(['RXWIRE_INVALID_PAYLOAD', 'RXWIRE_INVALID_PAYLOAD']);
    expect(errors[0]!.message).toMatch(/^invalid 'said' payload: at: /);
    // The client answered each with $error RXWIRE_INVALID_PAYLOAD; the server logged them.
    await until(
      () => warnings.filter((w) => w.code === 'RXWIRE_INVALID_PAYLOAD').length >= 1,
      5_000,
      'the server to log the client rejection',
    );
    expect(client.state.status).toBe('connected');
  });

  it('refuses a schema that only validates asynchronously, saying why', async () => {
    const { client, session, errors } = await setup({
      validate: { say: schemas.slow, rate: schemas.rate, sum: schemas.sum },
    });
    const said: unknown[] = [];
    session.on('say').subscribe((p) => said.push(p));
    client.send('say', { text: 'hello' });
    await until(() => errors.length === 1, 5_000, 'the rejection');
    expect(errors[0]).toMatchObject({ code: 'RXWIRE_INVALID_PAYLOAD' });
    expect(errors[0]!.message).toMatch(/async validators are not supported/);
    expect(said).toEqual([]);
  });
});

describe('the README', () => {
  interface ChatProtocol extends Protocol {
    client: { typing: { on: boolean } };
    server: { presence: { online: number } };
  }

  it('validates with zod on the server and valibot on the client', async () => {
    const http = createHttpServer();
    const port = await listen(http);
    const url = `ws://127.0.0.1:${port}/ws`;
    const realWebSocket = (globalThis as { WebSocket?: unknown }).WebSocket;
    (globalThis as { WebSocket?: unknown }).WebSocket = WebSocket; // what a browser has
    try {
      // #region readme-validate
      const server = createServer<ChatProtocol>({
        server: http,
        validate: { typing: z.object({ on: z.boolean() }) }, // client messages and requests, by type
      });
      const client = createClient<ChatProtocol>({
        url,
        validate: { presence: v.object({ online: v.number() }) }, // server messages, by type
      });
      // #endregion
      disposer.add(async () => {
        client.dispose();
        await server.close();
        await closeHttp(http);
      });
      const typing: boolean[] = [];
      const session = firstValueFrom(server.sessions$);
      await connected(client);
      (await session).on('typing').subscribe(({ on }) => typing.push(on));
      const presence = firstValueFrom(client.on('presence'));
      const errors: RxwireError[] = [];
      client.errors$.subscribe((e) => errors.push(e));
      client.send('typing', { on: 'yes' } as never);
      client.send('typing', { on: true });
      (await session).send('presence', { online: 'many' } as never);
      (await session).send('presence', { online: 3 });
      expect(await within(presence, 5_000, 'presence')).toEqual({ online: 3 });
      await until(() => typing.length === 1 && errors.length === 2, 5_000, 'both ends');
      expect(typing).toEqual([true]);
      expect(errors.map((e) => e.code)).toEqual([
        'RXWIRE_INVALID_PAYLOAD',
        'RXWIRE_INVALID_PAYLOAD',
      ]);
    } finally {
      (globalThis as { WebSocket?: unknown }).WebSocket = realWebSocket;
    }
  });
});
