// The `rxwire/audio` entry point: audio chunks, the binary frame codec, and
// (as they land) the operators and sources, one per file.
export type { AudioChunk } from './types.js';
export {
  encodeAudioFrame,
  decodeAudioFrame,
  AUDIO_FRAME_VERSION,
  AUDIO_HEADER_BYTES,
  SampleEncoding,
  type SampleEncodingName,
} from '../protocol/index.js';
