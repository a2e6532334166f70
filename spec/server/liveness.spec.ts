// Dead peers: a client whose TCP socket stops reading never answers the
// ws-level ping and must be terminated within interval + timeout.
import type { Socket } from 'node:net';
import { firstValueFrom } from 'rxjs';
import { Disposer, RawClient, envelope, startServer, within } from '../helpers/server-harness.js';

const disposer = new Disposer();
afterEach(() => disposer.drain());

const interval = 150;
const timeout = 100;

/** The ws client's TCP socket (a private of the `ws` library, which is what the test must reach). */
function tcpOf(client: RawClient): Socket {
  return (client.ws as unknown as { _socket: Socket })._socket;
}

describe('dead peers', () => {
  it('terminates a client that stops answering pings within interval + timeout, and frees its session after the recovery window', async () => {
    const infos: string[] = [];
    const recoveryWindow = 300;
    const { server, url } = await startServer(disposer, {
      heartbeat: { interval, timeout },
      recoveryWindow,
      logger: { info: (m) => infos.push(m) },
    });
    const sessions = firstValueFrom(server.sessions$);
    const { client } = await RawClient.open(url, disposer);
    const session = await sessions;
    const ended = firstValueFrom(session.closed$);

    tcpOf(client).pause();
    const pausedAt = Date.now();
    const close = await within(
      ended,
      interval + timeout + recoveryWindow + 2_000,
      'the dead peer to be terminated',
    );
    const elapsed = Date.now() - pausedAt;

    expect(close).toMatchObject({ code: 1006, expired: true });
    // Generous slack for a loaded CI machine; the point is that it is bounded.
    expect(elapsed).toBeGreaterThanOrEqual(recoveryWindow);
    expect(elapsed).toBeLessThanOrEqual(interval + timeout + recoveryWindow + 250);
    expect(session.state).toBe('closed');
    expect(server.sessions.size).toBe(0);
    expect(infos).toContain('no pong within the heartbeat timeout, terminating');
  });

  it('keeps a client that answers pings, across many intervals', async () => {
    const { server, url } = await startServer(disposer, {
      heartbeat: { interval: 30, timeout: 30 },
    });
    const pings: number[] = [];
    const { client } = await RawClient.open(url, disposer);
    client.ws.on('ping', () => pings.push(Date.now()));
    await within(
      new Promise<void>((resolve) => client.ws.on('ping', () => pings.length >= 8 && resolve())),
      3_000,
      'eight pings',
    );
    expect(server.sessions.size).toBe(1);
    const ping = client.send(envelope('$ping'));
    expect(await client.next()).toMatchObject({ type: '$pong', replyTo: ping });
  });

  it('also watches connections that have not said $hello yet', async () => {
    let terminated!: () => void;
    const logged = new Promise<void>((resolve) => (terminated = resolve));
    const { url } = await startServer(disposer, {
      heartbeat: { interval: 50, timeout: 50 },
      helloTimeout: 60_000,
      logger: { info: (m) => m.startsWith('no pong') && terminated() },
    });
    const client = await RawClient.connect(url, disposer);
    tcpOf(client).pause();
    await within(logged, 2_000, 'the silent pre-hello socket to be terminated');
  });
});
