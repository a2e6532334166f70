// One cluster node as its own process, for the multi-process tests (bundled
// with esbuild by spec/cluster/processes.ts and forked with an IPC channel).
// The app: every `up` a client sends is answered with `ack_up` (so the client
// can check its messages arrived once and in order), and the parent drives
// `sendTo`, `broadcast`, `drain`, and reads presence and counters.
import { createServer as createHttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createServer } from '../../server/index.js';
import { redisCluster } from '../../cluster/index.js';
import type { ClusterProtocol, NodeCommand, NodeEvent } from './processes.js';

const env = (name: string): string => {
  const value = process.env[name];
  if (value === undefined) throw new Error(`${name} is not set`);
  return value;
};

const send = (event: NodeEvent): void => {
  process.send?.(event);
};

const http = createHttpServer();
const server = createServer<ClusterProtocol>({
  server: http,
  heartbeat: false,
  rateLimit: false,
  recoveryWindow: 60_000,
  ...(process.env.NODE_LOG
    ? {
        logger: {
          info: (m: string, c?: object) =>
            console.log(Date.now() % 100000, env('NODE_ID'), m, JSON.stringify(c ?? {})),
          warn: (m: string, c?: object) =>
            console.log(Date.now() % 100000, env('NODE_ID'), 'WARN', m, JSON.stringify(c ?? {})),
          error: (m: string, c?: object) =>
            console.log(Date.now() % 100000, env('NODE_ID'), 'ERROR', m, JSON.stringify(c ?? {})),
        },
      }
    : {}),
  cluster: redisCluster({
    url: env('REDIS_URL'),
    secret: env('SECRET'),
    prefix: env('PREFIX'),
    nodeId: env('NODE_ID'),
    nodeTtl: Number(env('NODE_TTL')),
    handoverTimeout: 2_000,
    sendTimeout: 60_000,
  }),
});

server.sessions$.subscribe((session) => {
  send({
    event: 'session',
    sessionId: session.id,
    nodeId: server.nodeId,
    movedFrom: session.movedFrom ?? null,
  });
  session.on('up').subscribe(({ n }) => session.send('ack_up', { n }));
});

process.on('message', (message: NodeCommand) => {
  const reply = (value: unknown, error?: string): void =>
    send({ event: 'reply', id: message.id, value, ...(error === undefined ? {} : { error }) });
  switch (message.cmd) {
    case 'sendTo':
      server.sendTo(message.sessionId, 'down', { n: message.n }).then(
        () => reply(true),
        (error: { code?: string; message?: string }) =>
          reply(false, error.code ?? String(error.message)),
      );
      return;
    case 'broadcast':
      reply(server.broadcast('news', { n: message.n }));
      return;
    case 'presence':
      reply(server.presence);
      return;
    case 'stats':
      reply(server.cluster);
      return;
    case 'drain':
      server
        .close() // a clustered server drains first
        .then(() => new Promise<void>((resolve) => http.close(() => resolve())))
        .then(
          () => {
            reply(true);
            setTimeout(() => process.exit(0), 20);
          },
          (error: unknown) => reply(false, String(error)),
        );
      return;
  }
});

if (process.env.NODE_LOG) {
  // Diagnostics for a failing run: a blocked event loop, a crash, the exit.
  let last = Date.now();
  setInterval(() => {
    const lag = Date.now() - last - 100;
    if (lag > 300) console.log(Date.now() % 100000, env('NODE_ID'), 'EVENT LOOP LAG', lag);
    last = Date.now();
  }, 100).unref();
  process.on('exit', (code) => console.log(Date.now() % 100000, env('NODE_ID'), 'EXIT', code));
}

http.listen(Number(env('PORT')), '127.0.0.1', () => {
  const check = setInterval(() => {
    if (server.cluster?.state !== 'up') return;
    clearInterval(check);
    send({ event: 'ready', nodeId: server.nodeId, port: (http.address() as AddressInfo).port });
  }, 10);
});
