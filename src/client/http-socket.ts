import type { WebSocketConstructor, WebSocketLike } from './socket.js';

/** Options of {@link HttpSocket}. */
export interface HttpSocketOptions {
  /** The `fetch` to use (tests inject one). @default globalThis.fetch */
  fetch?: typeof fetch;
  /** Largest POST body the socket builds from queued frames, in characters (one frame may exceed it). @default 262_144 */
  maxBatch?: number;
}

type Item = { json: string; bytes: number };

const CONNECTING = 0;
const OPEN = 1;
const CLOSING = 2;
const CLOSED = 3;

/**
 * A WebSocket-shaped object over plain HTTP, for networks that block WebSocket
 * upgrades: the rxwire HTTP fallback transport (docs/PROTOCOL.md section 13).
 * Server-to-client frames arrive on a Server-Sent Events stream
 * (`GET {path}/http`, read from the `fetch` response body, so it runs where
 * `EventSource` does not, Node 20 included); client-to-server frames go out
 * as JSON batches (`POST {path}/http?id=...`), at most one POST in flight, in
 * order. Binary frames travel base64-encoded in the POST body.
 *
 * It is what `createClient` uses when the option `transports` includes
 * `'http'`; pass it as `WebSocketCtor` only to force HTTP everywhere.
 *
 * @example
 * ```ts
 * const socket = new HttpSocket('wss://example.com/ws'); // talks to https://example.com/ws/http
 * socket.onmessage = ({ data }) => render(data);
 * ```
 */
export class HttpSocket implements WebSocketLike {
  static readonly CONNECTING = CONNECTING;
  static readonly OPEN = OPEN;
  static readonly CLOSING = CLOSING;
  static readonly CLOSED = CLOSED;
  readonly CONNECTING = CONNECTING;
  readonly OPEN = OPEN;
  readonly CLOSING = CLOSING;
  readonly CLOSED = CLOSED;

  /** A constructor (for `WebSocketCtor`, or rxwire's own use) whose sockets use these options. */
  static with(options: HttpSocketOptions): WebSocketConstructor {
    return class extends HttpSocket {
      constructor(url: string, protocols?: string | string[]) {
        super(url, protocols, options);
      }
    };
  }

  /** The WebSocket URL given; the HTTP endpoint is {@link endpoint}. */
  readonly url: string;
  /** `{ws URL with http(s)}/http`, the base of the stream and the POSTs. */
  readonly endpoint: string;
  /** No subprotocol is negotiated over HTTP. */
  readonly protocol = '';
  readonly extensions = '';
  binaryType = 'arraybuffer';
  onopen: ((event: { type: 'open' }) => unknown) | null = null;
  onclose:
    | ((event: { type: 'close'; code: number; reason: string; wasClean: boolean }) => unknown)
    | null = null;
  onmessage: ((event: { type: 'message'; data: string | ArrayBuffer }) => unknown) | null = null;
  onerror: ((event: { type: 'error'; error?: unknown }) => unknown) | null = null;

  private state = CONNECTING;
  private readonly fetchFn: typeof fetch;
  private readonly maxBatch: number;
  private readonly stream = new AbortController();
  private readonly posts = new AbortController();
  private id = '';
  private key = '';
  private queue: Item[] = [];
  private queuedBytes = 0;
  private inFlightBytes = 0;
  private posting = false;

  constructor(url: string, _protocols?: string | string[], options: HttpSocketOptions = {}) {
    this.url = url;
    this.endpoint = httpEndpoint(url);
    const fetchFn = options.fetch ?? (globalThis as { fetch?: typeof fetch }).fetch;
    if (typeof fetchFn !== 'function') {
      throw new TypeError("no fetch: pass the 'fetch' option to use the HTTP transport");
    }
    // Called unbound: a browser's fetch throws "Illegal invocation" when `this` is another object.
    this.fetchFn = (input, init) => fetchFn(input, init);
    this.maxBatch = options.maxBatch ?? 262_144;
    void this.read();
  }

  get readyState(): number {
    return this.state;
  }

  /** Bytes waiting to be POSTed plus those in the POST in flight (raw bytes for binary frames). */
  get bufferedAmount(): number {
    return this.queuedBytes + this.inFlightBytes;
  }

  send(data: string | ArrayBufferLike | ArrayBufferView): void {
    if (this.state === CONNECTING) {
      throw new DOMExceptionLike(
        "Failed to execute 'send': still in CONNECTING state",
        'InvalidStateError',
      );
    }
    if (this.state !== OPEN) return;
    if (typeof data === 'string') {
      this.enqueue({ json: JSON.stringify(data), bytes: data.length });
    } else {
      const bytes = ArrayBuffer.isView(data)
        ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
        : new Uint8Array(data);
      this.enqueue({ json: `{"b":"${toBase64(bytes)}"}`, bytes: bytes.byteLength });
    }
  }

  /**
   * Sends a close (after what is already queued) and waits for the server's
   * `event: close`; then `onclose` fires with the code. Without a code the
   * server sees 1005, as with a WebSocket close frame without a status.
   */
  close(code?: number, reason?: string): void {
    if (this.state === CLOSING || this.state === CLOSED) return;
    if (this.state === CONNECTING) {
      this.finish(code ?? 1005, reason ?? '', false, false);
      return;
    }
    this.state = CLOSING;
    const close: { code?: number; reason?: string } = {};
    if (code !== undefined) close.code = code;
    if (reason !== undefined && reason !== '') close.reason = reason;
    this.enqueue({ json: JSON.stringify({ close }), bytes: 0 });
  }

  /**
   * Drops the connection without a close: nothing more is sent, the stream is
   * aborted, and the server sees a drop (1006) and keeps the session for a
   * resume. `onclose` fires with 1006. rxwire uses it to switch transports.
   */
  abandon(): void {
    if (this.state === CLOSED) return;
    this.finish(1006, 'abandoned', false, false);
  }

  // ---- receiving -------------------------------------------------------------

  private async read(): Promise<void> {
    let response: Response;
    try {
      response = await this.fetchFn(this.endpoint, {
        method: 'GET',
        headers: { Accept: 'text/event-stream' },
        cache: 'no-store',
        signal: this.stream.signal,
      });
    } catch (error) {
      this.fail(error);
      return;
    }
    if (!response.ok || response.body === null) {
      void response.body?.cancel().catch(() => undefined);
      this.fail(new Error(`HTTP ${response.status} from ${this.endpoint}`));
      return;
    }
    const reader = response.body.getReader();
    const parser = new SseParser((event, data) => this.onEvent(event, data));
    const decoder = new TextDecoder();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (this.state === CLOSED) return;
        if (done) break;
        parser.push(decoder.decode(value, { stream: true }));
        if (this.state === CLOSED) return;
      }
    } catch (error) {
      this.fail(error);
      return;
    }
    this.fail(new Error('the event stream ended without a close'));
  }

  private onEvent(event: string, data: string): void {
    if (this.state === CLOSED) return;
    switch (event) {
      case 'open': {
        if (this.state !== CONNECTING) return;
        const { id, key } = safeJson(data) as { id?: unknown; key?: unknown };
        if (typeof id !== 'string' || typeof key !== 'string') {
          this.fail(new Error('malformed open event'));
          return;
        }
        this.id = id;
        this.key = key;
        this.state = OPEN;
        this.onopen?.({ type: 'open' });
        return;
      }
      case 'message':
        this.onmessage?.({ type: 'message', data });
        return;
      case 'binary': {
        const bytes = fromBase64(data);
        this.onmessage?.({
          type: 'message',
          data: bytes.buffer.slice(
            bytes.byteOffset,
            bytes.byteOffset + bytes.byteLength,
          ) as ArrayBuffer,
        });
        return;
      }
      case 'close': {
        const { code, reason } = safeJson(data) as { code?: unknown; reason?: unknown };
        this.finish(
          typeof code === 'number' ? code : 1005,
          typeof reason === 'string' ? reason : '',
          true,
          false,
        );
        return;
      }
      default:
        return; // unknown events are ignored, as EventSource does
    }
  }

  // ---- sending ---------------------------------------------------------------

  private enqueue(item: Item): void {
    this.queue.push(item);
    this.queuedBytes += item.bytes;
    this.flush();
  }

  private flush(): void {
    if (this.posting || this.queue.length === 0 || this.state === CLOSED) return;
    let size = 2;
    let count = 0;
    for (const item of this.queue) {
      if (count > 0 && size + item.json.length + 1 > this.maxBatch) break;
      size += item.json.length + 1;
      count++;
    }
    const batch = this.queue.splice(0, count);
    let bytes = 0;
    for (const item of batch) bytes += item.bytes;
    this.queuedBytes -= bytes;
    this.inFlightBytes = bytes;
    this.posting = true;
    const body = `[${batch.map((item) => item.json).join(',')}]`;
    const url = `${this.endpoint}${this.endpoint.includes('?') ? '&' : '?'}id=${encodeURIComponent(this.id)}`;
    this.fetchFn(url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-Rxwire-Key': this.key },
      body,
      cache: 'no-store',
      signal: this.posts.signal,
    }).then(
      (response) => {
        void response.body?.cancel().catch(() => undefined);
        this.posting = false;
        this.inFlightBytes = 0;
        if (!response.ok) {
          this.fail(new Error(`HTTP ${response.status} for a POST to ${this.endpoint}`));
          return;
        }
        this.flush();
      },
      (error: unknown) => {
        this.posting = false;
        this.inFlightBytes = 0;
        this.fail(error);
      },
    );
  }

  // ---- closing ---------------------------------------------------------------

  private fail(error: unknown): void {
    if (this.state === CLOSED) return;
    this.finish(1006, '', false, true, error);
  }

  private finish(
    code: number,
    reason: string,
    wasClean: boolean,
    error: boolean,
    cause?: unknown,
  ): void {
    if (this.state === CLOSED) return;
    this.state = CLOSED;
    this.queue = [];
    this.queuedBytes = 0;
    this.stream.abort();
    // A close must still reach the server; everything else in flight is dropped.
    if (!wasClean) this.posts.abort();
    // Events fire asynchronously, as a WebSocket's do.
    queueMicrotask(() => {
      if (error) this.onerror?.({ type: 'error', error: cause });
      this.onclose?.({ type: 'close', code, reason, wasClean });
    });
  }
}

/** `ws://h/p?q` → `http://h/p/http?q` (wss → https). */
export function httpEndpoint(url: string): string {
  const parsed = new URL(url);
  if (parsed.protocol === 'ws:') parsed.protocol = 'http:';
  else if (parsed.protocol === 'wss:') parsed.protocol = 'https:';
  parsed.pathname = `${parsed.pathname.replace(/\/+$/, '')}/http`;
  parsed.hash = '';
  return parsed.toString();
}

/**
 * Incremental Server-Sent Events parser (the WHATWG rules rxwire needs):
 * lines end in CRLF, LF or CR, possibly split across chunks; `:` lines are
 * comments; `data` lines are joined with `\n`; a blank line dispatches.
 */
export class SseParser {
  private buffer = '';
  private afterCr = false;
  private event = '';
  private data: string[] = [];

  constructor(private readonly dispatch: (event: string, data: string) => void) {}

  push(chunk: string): void {
    let text = this.buffer + chunk;
    if (text.length === 0) return; // an empty chunk (a body can yield one) says nothing
    // The previous chunk ended in CR: a LF starting this one belongs to it.
    if (this.afterCr && text.charCodeAt(0) === 10) text = text.slice(1);
    this.afterCr = false;
    let start = 0;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c !== 10 && c !== 13) continue;
      const line = text.slice(start, i);
      if (c === 13) {
        if (i + 1 === text.length) this.afterCr = true;
        else if (text.charCodeAt(i + 1) === 10) i++;
      }
      start = i + 1;
      this.line(line);
    }
    this.buffer = text.slice(start);
  }

  private line(line: string): void {
    if (line === '') {
      if (this.data.length > 0) this.dispatch(this.event || 'message', this.data.join('\n'));
      this.event = '';
      this.data = [];
      return;
    }
    if (line.charCodeAt(0) === 58) return; // ':' comment
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.charCodeAt(0) === 32) value = value.slice(1);
    if (field === 'event') this.event = value;
    else if (field === 'data') this.data.push(value);
  }
}

class DOMExceptionLike extends Error {
  constructor(
    message: string,
    override readonly name: string,
  ) {
    super(message);
  }
}

function safeJson(text: string): unknown {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null ? value : {};
  } catch {
    return {};
  }
}

function toBase64(bytes: Uint8Array): string {
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

function fromBase64(text: string): Uint8Array {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}
