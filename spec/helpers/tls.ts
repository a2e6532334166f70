// TLS for the WSS/HTTPS tests: a private CA and a server certificate for
// localhost and 127.0.0.1 made with Debian's `openssl` CLI, a `ws` WebSocket
// constructor that trusts that CA, and a `fetch` on `node:https` that does too
// (Node's global fetch takes no CA option without undici's Agent).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request as httpsRequest } from 'node:https';
import type { IncomingHttpHeaders } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { WebSocket } from 'ws';
import type { WebSocketConstructor } from '../../src/index.js';

export interface TestCertificate {
  /** PEM of the CA that signed `cert`: what a client must trust. */
  ca: string;
  /** PEM of the server certificate (localhost, 127.0.0.1), then the CA. */
  cert: string;
  /** PEM of the server's private key. */
  key: string;
  /** The folder of ca.pem, cert.pem and key.pem. */
  dir: string;
  /** Files of the same, for a process that reads paths (the demo's TLS_CERT and TLS_KEY). */
  caPath: string;
  certPath: string;
  keyPath: string;
  /** Deletes the files. */
  remove(): void;
}

/**
 * A fresh CA and a server certificate signed by it, valid for two days, for
 * `localhost` and `127.0.0.1` (EC P-256 keys: each `openssl` call takes a few ms).
 */
export function makeCertificate(): TestCertificate {
  const dir = mkdtempSync(join(tmpdir(), 'rxwire-tls-'));
  const at = (name: string) => join(dir, name);
  const openssl = (...args: string[]) =>
    execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  const ca = ['-subj', '/CN=rxwire test CA', '-days', '2'];
  openssl('req', '-x509', ...ec, ...ca, '-keyout', 'ca.key', '-out', 'ca.pem');
  openssl('req', ...ec, '-keyout', 'key.pem', '-out', 'server.csr', '-subj', '/CN=localhost');
  writeFileSync(
    at('server.ext'),
    'subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n',
  );
  openssl(
    'x509',
    '-req',
    '-in',
    'server.csr',
    '-CA',
    'ca.pem',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-out',
    'server.pem',
    '-days',
    '2',
    '-extfile',
    'server.ext',
  );
  const caPem = readFileSync(at('ca.pem'), 'utf8');
  const cert = readFileSync(at('server.pem'), 'utf8') + caPem;
  writeFileSync(at('cert.pem'), cert);
  return {
    ca: caPem,
    cert,
    key: readFileSync(at('key.pem'), 'utf8'),
    dir,
    caPath: at('ca.pem'),
    certPath: at('cert.pem'),
    keyPath: at('key.pem'),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/**
 * The `ws` WebSocket with `ca` trusted: what a Node client passes as
 * `WebSocketCtor` to reach a server whose certificate a private CA signed.
 */
export function trustingWebSocket(ca: string): WebSocketConstructor {
  return class TrustingWebSocket extends WebSocket {
    constructor(url: string, protocols?: string | string[]) {
      super(url, protocols ?? [], { ca });
    }
  } as unknown as WebSocketConstructor;
}

/** A `fetch` over `node:https` that trusts `ca`, and a way to close its kept-alive connections. */
export interface TrustingFetch {
  fetch: typeof fetch;
  close(): void;
}

/**
 * The part of `fetch` the HTTP fallback transport uses (a URL string, method,
 * headers, a string body, an AbortSignal; a streamed response body), on
 * `node:https` with `ca` trusted.
 */
export function trustingFetch(ca: string): TrustingFetch {
  const agent = new Agent({ ca, keepAlive: true });
  const fetchOverHttps = (input: unknown, init: RequestInit = {}): Promise<Response> =>
    new Promise<Response>((resolve, reject) => {
      if (typeof input !== 'string') throw new TypeError('trustingFetch takes a URL string');
      const request = httpsRequest(
        input,
        {
          method: init.method ?? 'GET',
          headers: Object.fromEntries(new Headers(init.headers).entries()),
          agent,
          ...(init.signal ? { signal: init.signal } : {}),
        },
        (response) => {
          const status = response.statusCode ?? 0;
          // The Response constructor refuses a body for these statuses.
          const empty = status === 204 || status === 205 || status === 304;
          if (empty) response.resume();
          resolve(
            new Response(empty ? null : (Readable.toWeb(response) as ReadableStream<Uint8Array>), {
              status,
              statusText: response.statusMessage ?? '',
              headers: toHeaders(response.headers),
            }),
          );
        },
      );
      request.on('error', reject);
      if (typeof init.body === 'string') request.end(init.body);
      else request.end();
    });
  return { fetch: fetchOverHttps as typeof fetch, close: () => agent.destroy() };
}

function toHeaders(incoming: IncomingHttpHeaders): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(incoming)) {
    if (Array.isArray(value)) for (const v of value) headers.append(name, v);
    else if (value !== undefined) headers.set(name, value);
  }
  return headers;
}
