// A plain-object socket for unit tests of the server core: no ws, no port.
import type { IncomingMessage } from 'node:http';
import type { Envelope, Protocol } from '../../src/protocol/index.js';
import type { Connection } from '../../server/connection.js';
import type { SessionSocket } from '../../server/connection-types.js';
import type { ServerCore } from '../../server/core.js';
import { envelope, within, type CloseEvent } from './server-harness.js';

export class FakeSocket implements SessionSocket {
  readonly sent: string[] = [];
  terminated = false;
  closeCall: CloseEvent | null = null;
  readonly closeCalled: Promise<CloseEvent>;
  private resolveClose!: (event: CloseEvent) => void;
  private readonly sentWaiters: Array<() => void> = [];
  /** Called (on the next turn) when the core closes or terminates, as a real socket's close event would be. */
  onClosed: ((code: number, reason: string) => void) | null = null;

  /** @param answersClose false for a peer that never completes the close handshake. */
  constructor(readonly answersClose = true) {
    this.closeCalled = new Promise((resolve) => (this.resolveClose = resolve));
  }

  send(data: string): void {
    this.sent.push(data);
    for (const wake of this.sentWaiters.splice(0)) wake();
  }

  close(code: number, reason: string): void {
    if (this.closeCall) return;
    this.closeCall = { code, reason };
    this.resolveClose(this.closeCall);
    if (this.answersClose) setImmediate(() => this.onClosed?.(code, reason));
  }

  terminate(): void {
    if (this.terminated) return;
    this.terminated = true;
    setImmediate(() => this.onClosed?.(1006, ''));
  }

  /** Every frame sent so far, parsed. */
  get frames(): Envelope[] {
    return this.sent.map((s) => JSON.parse(s) as Envelope);
  }

  /** Resolves once at least `count` frames were sent. */
  async waitForFrames(count: number, ms = 2_000): Promise<Envelope[]> {
    while (this.sent.length < count) {
      await within(
        new Promise<void>((resolve) => this.sentWaiters.push(resolve)),
        ms,
        `${count} frames`,
      );
    }
    return this.frames;
  }
}

export function fakeRequest(headers: Record<string, string> = {}): IncomingMessage {
  return { headers, url: '/ws' } as unknown as IncomingMessage;
}

export interface FakePeer {
  socket: FakeSocket;
  connection: Connection;
  /** Sends an envelope as a text frame. */
  send(value: unknown): void;
}

/** Opens a connection on the core over a fake socket (no `$hello` yet). */
export function openFake<P extends Protocol, U>(
  core: ServerCore<P, U>,
  headerToken?: string,
  headers: Record<string, string> = {},
  socket: FakeSocket = new FakeSocket(),
): FakePeer {
  const connection = core.open(socket, { request: fakeRequest(headers), headerToken });
  socket.onClosed = (code, reason) => connection.closed(code, reason);
  return { socket, connection, send: (value) => connection.receive(JSON.stringify(value)) };
}

/** Opens a connection and completes the handshake; resolves with the peer and the `$welcome`. */
export async function helloFake<P extends Protocol, U>(
  core: ServerCore<P, U>,
  hello: Record<string, unknown> = {},
): Promise<FakePeer & { welcome: Envelope }> {
  const peer = openFake(core);
  peer.send(envelope('$hello', { v: 1, ...hello }));
  const [welcome] = await peer.socket.waitForFrames(1);
  return { ...peer, welcome: welcome! };
}
