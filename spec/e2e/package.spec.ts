// What a consumer of the published package gets: the built dist/ (made by
// `pretest`), loaded through package.json "exports" from CommonJS, from ES
// modules, from an esbuild browser bundle, and type-checked under nodenext.
import { execFileSync } from 'node:child_process';
import {
  mkdtempSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
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
  // rxwire/react's peers, installed beside it as an app would have them.
  for (const peer of ['react', 'react-dom']) {
    symlinkSync(join(root, 'node_modules', peer), join(dir, 'node_modules', peer), 'dir');
  }
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
  const imports = `import { createClient, CloseCode } from 'rxwire';\nimport { FakeServer } from 'rxwire/testing';`;
  expect(typeCheck('types', typed(imports))).toBe('');
});

/**
 * Type-checks `source` as an ES module (`<name>.mts`) and as CommonJS
 * (`<name>.cts`) under moduleResolution nodenext, as a consumer's project
 * would; returns what tsc reported ('' when it passed).
 */
function typeCheck(name: string, source: string): string {
  writeFileSync(join(dir, `${name}.mts`), source);
  writeFileSync(join(dir, `${name}.cts`), source);
  writeFileSync(
    join(dir, `tsconfig.${name}.json`),
    JSON.stringify({
      compilerOptions: {
        module: 'nodenext',
        moduleResolution: 'nodenext',
        strict: true,
        noEmit: true,
        lib: ['ES2022', 'DOM'],
        types: [],
      },
      files: [`${name}.mts`, `${name}.cts`],
    }),
  );
  const tsc = require.resolve('typescript/bin/tsc', { paths: [root] });
  try {
    run([tsc, '-p', `tsconfig.${name}.json`]);
    return '';
  } catch (error) {
    return String((error as { stdout?: unknown }).stdout ?? error);
  }
}

describe('rxwire/react from the built package', () => {
  // Renders on the server through the exports map: no JSX, no connection.
  const ssr = (imports: string) => `${imports}
let opened = 0;
const Ctor = function () { opened++; throw new Error('no socket on the server'); };
function Status() {
  return createElement('p', null, useConnectionState((s) => s.status));
}
const html = renderToString(
  createElement(RxwireProvider, { options: { url: 'ws://x.test/ws', WebSocketCtor: Ctor } },
    createElement(Status), createElement(ConnectionStatus)),
);
console.log(JSON.stringify({ html, opened }));`;
  const rendered = (out: string) => JSON.parse(out) as { html: string; opened: number };

  it('server-renders from CommonJS', () => {
    writeFileSync(
      join(dir, 'react-app.cjs'),
      ssr(`const { createElement } = require('react');
const { renderToString } = require('react-dom/server');
const { RxwireProvider, useConnectionState, ConnectionStatus } = require('rxwire/react');`),
    );
    const { html, opened } = rendered(run(['react-app.cjs']));
    expect(html).toMatch(/^<p>idle<\/p><div data-status="idle" data-tone="red">/);
    expect(opened).toBe(0);
  });

  it('server-renders from ES modules', () => {
    writeFileSync(
      join(dir, 'react-app.mjs'),
      ssr(`import { createElement } from 'react';
import { renderToString } from 'react-dom/server';
import { RxwireProvider, useConnectionState, ConnectionStatus } from 'rxwire/react';`),
    );
    const { html, opened } = rendered(run(['react-app.mjs']));
    expect(html).toMatch(/^<p>idle<\/p>/);
    expect(opened).toBe(0);
  });

  it("every built module of rxwire/react opens with the 'use client' directive, in dist/cjs and dist/esm", () => {
    for (const flavour of ['cjs', 'esm']) {
      const folder = join(root, 'dist', flavour, 'src', 'react');
      const modules = readdirSync(folder).filter((f) => f.endsWith('.js'));
      expect(modules).toContain('index.js');
      for (const file of modules) {
        const text = readFileSync(join(folder, file), 'utf8');
        // The directive prologue: the string-literal statements a module starts with.
        const prologue = /^(?:\s*(?:'[^']*'|"[^"]*")\s*;)*/.exec(text)![0];
        expect([flavour, file, prologue]).toEqual([
          flavour,
          file,
          expect.stringMatching(/'use client'/),
        ]);
      }
    }
  });

  it('the rxwire entry never imports react', () => {
    writeFileSync(join(dir, 'no-react.mjs'), `export { createClient } from 'rxwire';\n`);
    const result = buildSync({
      absWorkingDir: dir,
      entryPoints: ['no-react.mjs'],
      bundle: true,
      platform: 'browser',
      format: 'esm',
      write: false,
      metafile: true,
      logLevel: 'silent',
    });
    const inputs = Object.keys(result.metafile.inputs);
    expect(inputs.some((path) => path.includes('src/index.js'))).toBe(true);
    expect(inputs.filter((path) => /node_modules\/react|src\/react\//.test(path))).toEqual([]);
  });

  it('type-checks the hooks against a protocol registered once by module augmentation', () => {
    const typed = (imports: string) => `${imports}
interface Chat {
  client: { typing: { on: boolean } };
  server: { presence: { online: number } };
  requests: { chat: { request: { text: string }; response: { token: string } } };
}
declare module 'rxwire/react' {
  interface Register {
    protocol: Chat;
  }
}
export function useEverything(): string {
  useMessage('presence', (p) => p.online.toFixed());
  // @ts-expect-error a type the server does not send
  useMessage('nope', () => undefined);
  const online: number | undefined = useLatestMessage('presence')?.online;
  const reply = useRequest('chat', { reduce: (text: string, { token }) => text + token, initial: '' });
  reply.start({ text: 'hi' });
  // @ts-expect-error a wrong request payload
  reply.start({ txt: 'hi' });
  const latest = useRequest('chat');
  const token: string | undefined = latest.data?.token;
  useRxwire().send('typing', { on: true });
  // @ts-expect-error a wrong message payload
  useRxwire().send('typing', { on: 'yes' });
  return reply.data + String(online) + String(token);
}
`;
    const imports = `import { useLatestMessage, useMessage, useRequest, useRxwire } from 'rxwire/react';`;
    expect(typeCheck('react-types', typed(imports))).toBe('');
  });
});
