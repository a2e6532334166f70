import type { Corkable } from '../protocol/coalesce.js';

/**
 * The part of the WebSocket API rxwire uses. The browser's `WebSocket`, the
 * `ws` package's `WebSocket` and `FakeWebSocket` from `rxwire/testing` all fit.
 */
export interface WebSocketLike {
  readonly readyState: number;
  readonly bufferedAmount: number;
  binaryType: string;
  send(data: string | ArrayBufferLike | ArrayBufferView): void;
  close(code?: number, reason?: string): void;
  /* eslint-disable @typescript-eslint/no-explicit-any -- each implementation types its events differently */
  onopen: ((event: any) => any) | null;
  onclose: ((event: any) => any) | null;
  onmessage: ((event: any) => any) | null;
  onerror: ((event: any) => any) | null;
  /* eslint-enable @typescript-eslint/no-explicit-any */
}

/** A WebSocket constructor: `globalThis.WebSocket`, `ws`, or `FakeWebSocket`. */
export type WebSocketConstructor = new (
  url: string,
  protocols?: string | string[],
) => WebSocketLike;

/** `WebSocket.OPEN`. */
export const OPEN = 1;

/**
 * Calls `found` with the Node stream under a `ws` WebSocket when its handshake
 * response arrives (the public `'upgrade'` event of `ws`, whose response's
 * `socket` is the stream `ws` writes to). A browser WebSocket, which has no such
 * event, and `FakeWebSocket` are left alone.
 */
export function watchNodeStream(socket: WebSocketLike, found: (stream: Corkable) => void): void {
  const emitter = socket as {
    once?: (event: 'upgrade', listener: (response?: { socket?: unknown }) => void) => unknown;
  };
  if (typeof emitter.once !== 'function') return;
  emitter.once('upgrade', (response) => {
    const stream = response?.socket as Partial<Corkable> | undefined;
    if (
      typeof stream?.cork === 'function' &&
      typeof stream.uncork === 'function' &&
      typeof stream.writableCorked === 'number'
    ) {
      found(stream as Corkable);
    }
  });
}
