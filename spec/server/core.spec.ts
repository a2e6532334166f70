// Server-wide behaviour of the core over fake sockets: broadcast and shutdown.
import { firstValueFrom, toArray } from 'rxjs';
import { CloseCode, ErrorCode, type Protocol } from '../../src/protocol/index.js';
import { ServerCore } from '../../server/core.js';
import type { ServerOptions } from '../../server/options.js';
import type { Session } from '../../server/session.js';
import { FakeSocket, helloFake, openFake, type FakePeer } from '../helpers/server-fake-socket.js';
import { envelope } from '../helpers/server-harness.js';

interface Room extends Protocol {
  client: object;
  server: { notice: { text: string } };
}
type User = { name: string; room: string };

const cores: Array<{ shutdown(): Promise<void> }> = [];
function makeCore(options: ServerOptions<Room, User> = {}): ServerCore<Room, User> {
  const core = new ServerCore<Room, User>({
    heartbeat: false,
    authenticate: (token) => {
      const [name, room] = (token ?? '').split('@');
      return { name: name!, room: room! };
    },
    ...options,
  });
  cores.push(core);
  return core;
}
afterEach(async () => {
  await Promise.all(cores.splice(0).map((c) => c.shutdown()));
});

describe('broadcast', () => {
  it('sends one frame to every live session, or those the filter accepts', async () => {
    const core = makeCore();
    const peers: FakePeer[] = [];
    for (const token of ['ann@a', 'bob@a', 'cy@b']) peers.push(await helloFake(core, { token }));
    expect(core.broadcast('notice', { text: 'all' })).toBe(3);
    const inA = (s: Session<Room, User>): boolean => s.user.room === 'a';
    expect(core.broadcast('notice', { text: 'room a' }, inA)).toBe(2);
    const texts = peers.map((p) =>
      p.socket.frames
        .filter((f) => f.type === 'notice')
        .map((f) => (f.payload as { text: string }).text),
    );
    expect(texts).toEqual([['all', 'room a'], ['all', 'room a'], ['all']]);
  });

  it('skips closed sessions and refuses reserved types', async () => {
    const core = makeCore();
    const a = await helloFake(core, { token: 'ann@a' });
    await helloFake(core, { token: 'bob@a' });
    a.connection.closed(1000, '');
    expect(core.broadcast('notice', { text: 'x' })).toBe(1);
    expect(() => core.broadcast('$pong' as 'notice', { text: 'x' })).toThrow(
      expect.objectContaining({ code: ErrorCode.ReservedType }),
    );
  });

  it('does not count sessions that are still in the handshake', async () => {
    const core = makeCore();
    openFake(core);
    expect(core.broadcast('notice', { text: 'x' })).toBe(0);
  });
});

describe('shutdown', () => {
  it('closes every connection with 1001, waits for them, completes sessions$ and the sessions', async () => {
    const core = makeCore();
    const sessions = firstValueFrom(core.sessions$.pipe(toArray()));
    const a = await helloFake(core, { token: 'ann@a' });
    const b = await helloFake(core, { token: 'bob@b' });
    const pending = openFake(core); // still in the handshake
    const closes = Promise.all([...core.sessions.values()].map((s) => firstValueFrom(s.closed$)));
    await core.shutdown();
    for (const peer of [a, b, pending]) {
      expect(peer.socket.closeCall).toEqual({
        code: CloseCode.GoingAway,
        reason: 'server shutting down',
      });
    }
    expect(await sessions).toHaveLength(2);
    expect((await closes).map((c) => c.code)).toEqual([1001, 1001]);
    expect(core.sessions.size).toBe(0);
    expect(core.connectionCount).toBe(0);
  });

  it('terminates peers that do not answer the close within shutdownTimeout', async () => {
    const warnings: string[] = [];
    const core = makeCore({ shutdownTimeout: 50, logger: { warn: (m) => warnings.push(m) } });
    const stuck = openFake(core, undefined, {}, new FakeSocket(false));
    stuck.send(envelope('$hello', { v: 1, token: 'ann@a' }));
    const session = await firstValueFrom(core.sessions$);
    const started = Date.now();
    await core.shutdown();
    expect(Date.now() - started).toBeGreaterThanOrEqual(45);
    expect(stuck.socket.terminated).toBe(true);
    expect(session.state).toBe('closed');
    expect(await firstValueFrom(session.closed$)).toEqual({
      code: CloseCode.Abnormal,
      reason: 'terminated at shutdown',
    });
    expect(warnings).toContain('terminating connections that did not close in time');
  });

  it('closes connections that arrive during shutdown with 1001 at once', async () => {
    const core = makeCore({ shutdownTimeout: 50 });
    openFake(core, undefined, {}, new FakeSocket(false));
    const done = core.shutdown();
    const late = openFake(core);
    expect(late.socket.closeCall?.code).toBe(CloseCode.GoingAway);
    await done;
    expect(core.shutdown()).toBe(done);
  });
});
