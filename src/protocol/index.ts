// Internal barrel shared by src/client and server/; the public entry points
// re-export from here by name.
export { CloseCode, clampReason } from './close-code.js';
export {
  ErrorCode,
  RxwireError,
  RxwireTypeError,
  ConnectionClosedError,
  QueueFullError,
  RequestTimeoutError,
  RemoteError,
  ProtocolError,
  type CloseInfo,
} from './errors.js';
export {
  Control,
  PROTOCOL_VERSION,
  isReservedType,
  isControlType,
  isSequenced,
  type Envelope,
  type ResumeRequest,
  type ControlType,
  type HelloPayload,
  type RefreshPayload,
  type AuthPayload,
  type RefreshedPayload,
  type WelcomePayload,
  type ErrorPayload,
} from './envelope.js';
export {
  encodeEnvelope,
  envelopeText,
  decodeFrame,
  decodeText,
  validateEnvelope,
  type DecodedFrame,
} from './codec.js';
export {
  validatePayload,
  type Validator,
  type Validators,
  type StandardSchemaV1,
  type ValidationResult,
} from './validation.js';
export { createIdGenerator } from './ids.js';
export type {
  Protocol,
  AnyProtocol,
  TypeName,
  ClientType,
  ServerType,
  RequestType,
  PayloadOf,
  RequestOf,
  ResponseOf,
} from './types.js';
export { toLogger, silentLogger, type Logger } from './logger.js';
export {
  encodeAudioFrame,
  writeAudioFrame,
  readAudioFrame,
  decodeAudioFrame,
  AUDIO_FRAME_VERSION,
  AUDIO_HEADER_BYTES,
  SampleEncoding,
  type SampleEncodingName,
} from './audio-frame.js';
export { Router } from './router.js';
export {
  Sequencer,
  ACK_DELAY_MS,
  ACK_LAZY_MS,
  type DeliveryStats,
  type Receipt,
} from './sequencer.js';
export { IsoClock } from './time.js';
