// `maxUnacked` bounds what a session keeps for resending even for a client
// that never acknowledges: `$error` answers and the ends of requests may go
// past the bound (every request must end), but a client that keeps causing
// them without acknowledging is closed with 4429 at twice the bound and its
// session ends, instead of growing the server's memory without end.
import { Disposer, RawClient, envelope, startServer, until } from '../helpers/server-harness.js';

const disposer = new Disposer();
afterEach(() => disposer.drain());

async function setup() {
  const { server, url } = await startServer(disposer, {
    heartbeat: false,
    rateLimit: false,
    maxUnacked: { messages: 50 },
  });
  server.handle('count', () => [1, 2, 3]);
  const { client } = await RawClient.open(url, disposer);
  const session = [...server.sessions.values()][0]!;
  return { server, client, session };
}

it('rejected frames from a client that never acknowledges: closed 4429 at twice maxUnacked', async () => {
  const { client, session } = await setup();
  for (let i = 0; i < 500; i++) client.sendRaw('{not json');
  expect(await client.waitClosed()).toEqual({
    code: 4429,
    reason: 'too many unacknowledged messages',
  });
  await until(() => session.state === 'closed', 5_000, 'the session to end');
  expect(session.delivery.unacked).toBeLessThanOrEqual(100);
  // Exactly the bound's worth of $error frames came before the close.
  expect(client.pending().filter((f) => f.type === '$error')).toHaveLength(100);
});

it('requests from a client that never acknowledges: each ends, until twice maxUnacked', async () => {
  const { client, session } = await setup();
  for (let i = 0; i < 500; i++) client.request('count');
  expect((await client.waitClosed()).code).toBe(4429);
  await until(() => session.state === 'closed', 5_000, 'the session to end');
  expect(session.delivery.unacked).toBeLessThanOrEqual(100);
});

it('a client that acknowledges gets every answer, however many bad frames it sends', async () => {
  const { client, session } = await setup();
  let received = 0;
  for (let round = 0; round < 10; round++) {
    for (let i = 0; i < 40; i++) client.sendRaw('{not json');
    const frames = await client.until((f) => f.seq === received + 40);
    received = frames[frames.length - 1]!.seq!;
    client.send(envelope('$ack', null, { ack: received }));
  }
  await until(() => session.delivery.unacked === 0, 5_000, 'the acks');
  expect(received).toBe(400);
  expect(client.closeInfo).toBeNull();
});
