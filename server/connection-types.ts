// The seams of a connection: the transport it runs on (SessionSocket), what
// the upgrade told about it (UpgradeInfo), where binary frames go
// (BinaryHandler) and what it needs from the server core (ConnectionHost).
// connection.ts is the connection itself; ws-adapter.ts and
// http-transport.ts implement SessionSocket.
import type { IncomingMessage } from 'node:http';
import type { AuthOutcome } from './auth.js';
import type { Connection } from './connection.js';
import type { ServerCore } from './core.js';
import type { Admission } from './limits.js';
import type { ResolvedOptions } from './resolve-options.js';
import type { ServerSession, SessionHost } from './session.js';

/**
 * The transport a connection runs on: all the core asks of a WebSocket. The
 * ws glue adapts a `ws` socket to it; tests use a plain object.
 */
export interface SessionSocket {
  send(data: string): void;
  close(code: number, reason: string): void;
  terminate(): void;
}

/** What the upgrade told us about a connection. */
export interface UpgradeInfo {
  request: IncomingMessage;
  /** Token from an `Authorization: Bearer` header, used when `$hello` carries none. */
  headerToken?: string | undefined;
  /** What carries the connection: a WebSocket, or the HTTP fallback (SSE + POST). @default 'websocket' */
  transport?: 'websocket' | 'http' | undefined;
  /**
   * The connection's slots under the connection limits (limits.ts): the
   * connection frees the handshake slot; the transport frees the rest when
   * the socket is gone. Its `ip` becomes `session.request.ip`.
   * @default none // a connection made by a test: the socket's address
   */
  admission?: Admission | undefined;
}

/**
 * Where binary frames go once the session is open: the seam for the audio
 * frame decoder. Without one, binary frames get `$error` RXWIRE_BAD_BINARY_FRAME.
 */
export type BinaryHandler = (
  data: Uint8Array,
  session: ServerSession<never, unknown>,
  reject: (code: string, message: string) => void,
) => void;

/** What a connection needs from the server core. */
export interface ConnectionHost extends SessionHost {
  readonly options: ResolvedOptions;
  readonly authenticate: (
    token: string | undefined,
    request: IncomingMessage,
  ) => Promise<AuthOutcome<unknown>>;
  readonly onBinary: BinaryHandler | null;
  /** A session passed `$hello` and auth, and `$welcome` is sent. */
  opened(session: ServerSession<never, unknown>): void;
  /** A live session (connected or waiting for a resume) by id. */
  session(id: string): ServerSession<never, unknown> | undefined;
  /** The socket closed; forget the connection (called before its streams complete). */
  detach(connection: Connection): void;
  /** The cluster, when this server is one node of one (see ServerCore). */
  readonly cluster: ServerCore['cluster'];
  takeOver: ServerCore['takeOver'];
  adopt: ServerCore['adopt'];
  adoptDetached: ServerCore['adoptDetached'];
  /** Users revoked lately: their older sessions are not resumed (see revoke.ts). */
  readonly revocations: ServerCore['revocations'];
  announce: ServerCore['announce'];
  park: ServerCore['park'];
}
