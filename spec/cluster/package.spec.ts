// rxwire/cluster as a consumer gets it (the built dist/, made by `pretest`):
// loaded through package.json "exports" from CommonJS and ES modules; and
// `redis`, an optional peer, is loaded only by a Redis cluster that connects:
// rxwire/server and memoryCluster work without it.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(__dirname, '../..');
let dir: string;

const run = (args: string[]) =>
  execFileSync(process.execPath, args, {
    cwd: dir,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });

// Two servers on one in-memory cluster; the second sends to a session of the first.
const scenario = `
const hub = new MemoryHub();
const a = createServer({ port: 0, heartbeat: false, cluster: memoryCluster({ hub, nodeId: 'a' }) });
const b = createServer({ port: 0, heartbeat: false, cluster: memoryCluster({ hub, nodeId: 'b' }) });
b.sendTo('nobody', 'x', 1).catch((e) => {
  console.log(JSON.stringify({ code: e.code, nodes: [a.nodeId, b.nodeId], redis: typeof redisCluster }));
  return Promise.all([a.close(), b.close()]);
});`;
const expected = { code: 'RXWIRE_SESSION_NOT_FOUND', nodes: ['a', 'b'], redis: 'function' };

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'rxwire-cluster-consumer-'));
  mkdirSync(join(dir, 'node_modules'));
  symlinkSync(root, join(dir, 'node_modules', 'rxwire'), 'dir');
  writeFileSync(join(dir, 'package.json'), '{"name":"consumer","private":true}');
  // Makes `redis` impossible to load, as in an app that does not install it.
  writeFileSync(
    join(dir, 'no-redis.cjs'),
    `const Module = require('node:module');
const resolve = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  if (request === 'redis' || request.startsWith('@redis/')) throw new Error('redis is not installed');
  return resolve.call(this, request, ...rest);
};`,
  );
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('loads from CommonJS through the exports map, without redis installed', () => {
  writeFileSync(
    join(dir, 'app.cjs'),
    `const { createServer } = require('rxwire/server');\nconst { memoryCluster, MemoryHub, redisCluster } = require('rxwire/cluster');\n${scenario}`,
  );
  expect(JSON.parse(run(['--require', './no-redis.cjs', 'app.cjs']))).toEqual(expected);
});

it('loads from ES modules through the exports map', () => {
  writeFileSync(
    join(dir, 'app.mjs'),
    `import { createServer } from 'rxwire/server';\nimport { memoryCluster, MemoryHub, redisCluster } from 'rxwire/cluster';\n${scenario}`,
  );
  expect(JSON.parse(run(['app.mjs']))).toEqual(expected);
});

it('says what is missing when a Redis cluster starts without redis installed', () => {
  writeFileSync(
    join(dir, 'redis.cjs'),
    `const { createServer } = require('rxwire/server');
const { redisCluster } = require('rxwire/cluster');
const errors = [];
const logger = { warn: (m, c) => errors.push(c && c.error) };
const server = createServer({ port: 0, heartbeat: false, logger,
  cluster: redisCluster({ secret: 'x'.repeat(32), url: 'redis://127.0.0.1:1' }) });
setTimeout(() => { console.log(JSON.stringify(errors[0])); process.exit(0); }, 500);`,
  );
  expect(JSON.parse(run(['--require', './no-redis.cjs', 'redis.cjs']))).toMatch(
    /redisCluster needs the `redis` package \(npm install redis\)/,
  );
});
