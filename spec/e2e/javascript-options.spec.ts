// Misspelled and mistyped options, as a JavaScript user writes them (no
// compiler to catch them): the built package, required from plain CommonJS,
// throws an RxwireTypeError naming each one instead of accepting it silently.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(__dirname, '../..');
let dir: string;
beforeAll(() => (dir = mkdtempSync(join(tmpdir(), 'rxwire-js-options-'))));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs `code` with the built package's entries in scope; returns what it printed. */
function run(code: string): { name: string; code: string; message: string } {
  const script = `
    const { createClient } = require(${JSON.stringify(join(root, 'dist/cjs/src/index.js'))});
    const { createServer } = require(${JSON.stringify(join(root, 'dist/cjs/server/index.js'))});
    const WebSocket = require(${JSON.stringify(require.resolve('ws'))});
    try { ${code}; console.log(JSON.stringify({ name: 'none', code: '', message: 'accepted' })); process.exit(0); }
    catch (e) { console.log(JSON.stringify({ name: e.name, code: e.code, message: e.message })); process.exit(0); }`;
  const out = execFileSync(process.execPath, ['-e', script], { cwd: dir, encoding: 'utf8' });
  return JSON.parse(out.trim().split('\n').pop()!);
}

it.each([
  [
    'createClient({ reconect: ... })',
    'createClient({ WebSocketCtor: WebSocket, reconect: { maxAttempts: 3 } })',
    /'reconect'.*did you mean 'reconnect'/,
  ],
  [
    'createClient({ token: 42 })',
    'createClient({ WebSocketCtor: WebSocket, token: 42 })',
    /'token' must be a string or a function \(got 42\)/,
  ],
  [
    'createClient({ reconnect: { maxAtempts } })',
    'createClient({ WebSocketCtor: WebSocket, reconnect: { maxAtempts: 3 } })',
    /'reconnect.maxAtempts'.*did you mean 'reconnect.maxAttempts'/,
  ],
  [
    'createClient({ heartbeat: true })',
    'createClient({ WebSocketCtor: WebSocket, heartbeat: true })',
    /'heartbeat' must be false or an object \(got true\)/,
  ],
  [
    'createServer({ alowedOrigins })',
    "createServer({ port: 0, alowedOrigins: ['https://app.example'] })",
    /'alowedOrigins'.*did you mean 'allowedOrigins'/,
  ],
  [
    "createServer({ port: 'abc' })",
    "createServer({ port: 'abc' })",
    /'port' must be a port number from 0 to 65535 \(got "abc"\)/,
  ],
  [
    'createServer({ maxPayload: "1mb" })',
    "createServer({ port: 0, maxPayload: '1mb' })",
    /'maxPayload' must be a number/,
  ],
  [
    'createServer({ jwt: { secret: "" } })',
    "createServer({ port: 0, jwt: { secret: new TextEncoder().encode(process.env.UNSET_JWT_SECRET ?? '') } })",
    /'jwt.secret' must be at least 32 bytes \(got 0\)/,
  ],
])('%s throws RxwireTypeError naming the option', (_, code, message) => {
  const result = run(code);
  expect(result).toMatchObject({ name: 'RxwireTypeError', code: 'RXWIRE_INVALID_OPTION' });
  expect(result.message).toMatch(message);
});

it("port: 'abc' does not listen on a Unix socket file named abc", () => {
  run("createServer({ port: 'abc' })");
  expect(existsSync(join(dir, 'abc'))).toBe(false);
});
