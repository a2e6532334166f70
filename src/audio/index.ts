// The `rxwire/audio` entry point: audio chunks, the binary frame codec, and
// the operators and sources, one per file.
export type { AudioChunk } from './types.js';
export {
  encodeAudioFrame,
  decodeAudioFrame,
  AUDIO_FRAME_VERSION,
  AUDIO_HEADER_BYTES,
  SampleEncoding,
  type SampleEncodingName,
} from '../protocol/index.js';
export { resample, type ResampleConfig } from './resample.js';
export { toPcm16 } from './to-pcm16.js';
export { toFloat32 } from './to-float32.js';
export { frames, type FramesConfig } from './frames.js';
export { level, type LevelConfig, type AudioLevel } from './level.js';
export { sine, type SineConfig } from './sine.js';
export { toWav, type ToWavConfig } from './to-wav.js';
export { fromWav, WavError, type FromWavConfig } from './from-wav.js';
export {
  fromMicrophone,
  MicrophoneError,
  type MicrophoneOptions,
  type MicrophoneErrorCode,
} from './from-microphone.js';
export { microphoneWorkletSource, MICROPHONE_PROCESSOR_NAME } from './microphone-worklet.js';
export { ErrorCode, RxwireError } from '../protocol/index.js';
