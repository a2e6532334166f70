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
