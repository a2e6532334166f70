// `npx rxwire serve --cluster redis://...`: the demo as one node of a
// cluster, run from the built bin (made by `pretest`). Two nodes on a private
// redis-server: a session opened on one resumes on the other.
import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { RedisServer, hasRedisServer } from '../helpers/redis-server.js';
import { Disposer, RawClient } from '../helpers/server-harness.js';

const bin = resolve(__dirname, '../../dist/cjs/cli/rxwire.js');
const describeRedis = hasRedisServer() ? describe : describe.skip;
const disposer = new Disposer();
afterEach(() => disposer.drain());

const env = {
  ...process.env,
  RXWIRE_CLUSTER_SECRET: 'a cluster secret shared by both demo nodes',
  RXWIRE_DEMO_SECRET: 'the demo login secret shared by both nodes',
};

/** Starts `rxwire serve --port 0 --cluster <url>` and resolves with its port once it listens. */
async function serve(redisUrl: string, nodeId: string): Promise<number> {
  const child: ChildProcess = spawn(
    process.execPath,
    [bin, 'serve', '--port', '0', '--cluster', redisUrl],
    {
      env: { ...env, RXWIRE_NODE_ID: nodeId },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  disposer.add(
    () =>
      new Promise<void>((done) => {
        if (child.exitCode !== null) return done();
        child.once('exit', () => done());
        child.kill('SIGTERM');
      }),
  );
  const lines = createInterface({ input: child.stdout! });
  return new Promise<number>((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`${nodeId} did not start`)), 20_000);
    lines.on('line', (line) => {
      const match = /rxwire demo on http:\/\/localhost:(\d+)/.exec(line);
      if (match) {
        clearTimeout(timer);
        ok(Number(match[1]));
      }
    });
    child.once('exit', (code) => fail(new Error(`${nodeId} exited with ${code}`)));
  });
}

describeRedis('rxwire serve --cluster', () => {
  let redis: RedisServer;
  beforeAll(async () => {
    redis = await RedisServer.start();
  });
  afterAll(() => redis.stop());

  it('runs the demo as one node of a cluster: a session opened on one node resumes on the other', async () => {
    const [a, b] = await Promise.all([serve(redis.url, 'demo-a'), serve(redis.url, 'demo-b')]);
    const login = await fetch(`http://127.0.0.1:${a}/demo/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'ann' }),
    });
    const { token } = (await login.json()) as { token: string };
    const first = await RawClient.open(`ws://127.0.0.1:${a}/ws`, disposer, { token });
    const { sessionId, resumeToken } = first.welcome.payload as {
      sessionId: string;
      resumeToken: string;
    };
    first.client.ws.terminate();
    const moved = await RawClient.open(`ws://127.0.0.1:${b}/ws`, disposer, {
      token,
      resume: { sessionId, token: resumeToken, ack: 0 },
    });
    expect(moved.welcome.payload).toMatchObject({ sessionId, resumed: true });
  });

  it('refuses to start a cluster node without the shared secret', async () => {
    const child = spawn(process.execPath, [bin, 'serve', '--cluster', 'redis://127.0.0.1:1'], {
      env: { ...process.env, RXWIRE_CLUSTER_SECRET: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((done) => child.once('exit', done));
    expect(code).toBe(2);
    expect(stderr).toMatch(/--cluster needs RXWIRE_CLUSTER_SECRET/);
  });
});
