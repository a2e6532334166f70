// What a consumer of the published package gets: the built dist/ (made by
// `pretest`), loaded through package.json "exports" from CommonJS, from ES
// modules, from an esbuild browser bundle, and type-checked under nodenext.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, symlinkSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { buildSync } from 'esbuild';

const root = resolve(__dirname, '../..');
let dir: string;

const run = (args: string[], cwd = dir) =>
  execFileSync(process.execPath, args, {
    cwd,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });

// Uses the testing kit end to end: a client connects to the fake server.
const scenario = `
const fake = new FakeServer();
const client = createClient({ url: 'ws://x.test/ws', WebSocketCtor: fake.WebSocket, heartbeat: false });
client.state$.subscribe((s) => {
  if (s.status === 'connected') {
    console.log(JSON.stringify({ status: s.status, close: CloseCode.Unauthorized, sockets: fake.sockets.length }));
    client.dispose();
  }
});`;
const expected = { status: 'connected', close: 4401, sockets: 1 };

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'rxwire-consumer-'));
  mkdirSync(join(dir, 'node_modules'));
  symlinkSync(root, join(dir, 'node_modules', 'rxwire'), 'dir');
  writeFileSync(join(dir, 'package.json'), '{"name":"consumer","private":true}');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('loads from CommonJS through the exports map', () => {
  writeFileSync(
    join(dir, 'app.cjs'),
    `const { createClient, CloseCode } = require('rxwire');\nconst { FakeServer } = require('rxwire/testing');\n${scenario}`,
  );
  expect(JSON.parse(run(['app.cjs']))).toEqual(expected);
});

it('loads from ES modules through the exports map', () => {
  writeFileSync(
    join(dir, 'app.mjs'),
    `import { createClient, CloseCode } from 'rxwire';\nimport { FakeServer } from 'rxwire/testing';\n${scenario}`,
  );
  expect(JSON.parse(run(['app.mjs']))).toEqual(expected);
});

it('bundles for the browser with esbuild, without ws, express or node: modules', () => {
  writeFileSync(
    join(dir, 'entry.mjs'),
    `import { createClient, CloseCode } from 'rxwire';\nimport { FakeServer } from 'rxwire/testing';\n${scenario}`,
  );
  buildSync({
    absWorkingDir: dir,
    entryPoints: ['entry.mjs'],
    bundle: true,
    platform: 'browser',
    format: 'iife',
    outfile: 'bundle.js',
    logLevel: 'silent',
  });
  const bundle = readFileSync(join(dir, 'bundle.js'), 'utf8');
  expect(bundle).not.toMatch(/require\(["'](ws|express|node:)/);
  expect(JSON.parse(run(['bundle.js']))).toEqual(expected);
});

it('type-checks from both module systems under moduleResolution nodenext', () => {
  const typed = (imports: string) => `${imports}
interface P { client: { hi: { n: number } }; server: { yo: string }; requests: { q: { request: number; response: string } } }
const fake = new FakeServer();
const client = createClient<P>({ WebSocketCtor: fake.WebSocket, autoConnect: false });
client.send('hi', { n: 1 });
client.on('yo').subscribe((s: string) => s.toUpperCase());
client.request('q', 1).subscribe((r: string) => r);
// @ts-expect-error unknown type is a compile error
client.send('nope', 1);
// @ts-expect-error wrong payload is a compile error
client.send('hi', { n: 'one' });
export const code: number = CloseCode.Forbidden;
`;
  writeFileSync(
    join(dir, 'types.mts'),
    typed(
      `import { createClient, CloseCode } from 'rxwire';\nimport { FakeServer } from 'rxwire/testing';`,
    ),
  );
  writeFileSync(
    join(dir, 'types.cts'),
    typed(
      `import { createClient, CloseCode } from 'rxwire';\nimport { FakeServer } from 'rxwire/testing';`,
    ),
  );
  writeFileSync(
    join(dir, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        module: 'nodenext',
        moduleResolution: 'nodenext',
        strict: true,
        noEmit: true,
        lib: ['ES2022', 'DOM'],
        types: [],
      },
      files: ['types.mts', 'types.cts'],
    }),
  );
  const tsc = require.resolve('typescript/bin/tsc', { paths: [root] });
  expect(() => run([tsc, '-p', 'tsconfig.json'])).not.toThrow();
});
