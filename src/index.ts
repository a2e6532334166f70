// The `rxwire` entry point: the client and the shared protocol vocabulary.
export { createClient } from './client/create-client.js';
export type { Client, RequestOptions, ConfirmOptions, SessionInfo } from './client/client.js';
export type {
  ClientOptions,
  ReconnectOptions,
  HeartbeatOptions,
  QueueOptions,
} from './client/options.js';
export type { ConnectionState, ConnectionStatus } from './client/state.js';
export type { AudioStats, AudioCounts, AudioOptions } from './client/audio-sender.js';
export { backoffDelay } from './client/backoff.js';
export { defaultCloseDecision, type CloseDecision } from './client/close-policy.js';
export type { WebSocketLike, WebSocketConstructor } from './client/socket.js';
export { HttpSocket, type HttpSocketOptions } from './client/http-socket.js';
export type { AudioChunk } from './audio/types.js';
export {
  CloseCode,
  ErrorCode,
  RxwireError,
  RxwireTypeError,
  ConnectionClosedError,
  QueueFullError,
  RequestTimeoutError,
  RemoteError,
  ProtocolError,
  Control,
  PROTOCOL_VERSION,
  type CloseInfo,
  type Logger,
  type Envelope,
  type Protocol,
  type AnyProtocol,
  type Validator,
  type Validators,
  type StandardSchemaV1,
  type HelloPayload,
  type ResumeRequest,
  type WelcomePayload,
  type DeliveryStats,
  type ErrorPayload,
} from './protocol/index.js';
