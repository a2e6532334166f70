// The `rxwire/server` entry point.
export { createServer, type RxwireServer } from './create-server.js';
export type { RequestHandler } from './core.js';
export type {
  Cluster,
  ClusterStats,
  DrainOptions,
  PresenceEntry,
  RemoteSession,
} from './cluster.js';
export type {
  ServerOptions,
  HeartbeatOptions,
  RateLimitOptions,
  InboundValidators,
  OriginCheck,
} from './options.js';
export type {
  Session,
  SessionClose,
  SessionRequest,
  SessionDelivery,
  SessionState,
  InboundMessage,
} from './session.js';
export {
  forbidden,
  withExpiry,
  type Expiring,
  verifyJwt,
  ForbiddenError,
  UnauthorizedError,
  type Forbidden,
  type JwtOptions,
  type Authenticate,
  type AuthAnswer,
} from './auth.js';
export type { Logger } from './logger.js';
export type { LimitStats, LimitName } from './limits.js';
export type { TrustProxy } from './client-address.js';
export { AUDIO_SEQ_WINDOW, type SessionAudioStats, type AudioStreamStats } from './audio-stats.js';
export type { AudioChunk } from '../src/audio/types.js';
export {
  CloseCode,
  ErrorCode,
  RxwireError,
  RxwireTypeError,
  Control,
  PROTOCOL_VERSION,
  type Envelope,
  type Protocol,
  type AnyProtocol,
  type Validator,
  type StandardSchemaV1,
} from '../src/protocol/index.js';
