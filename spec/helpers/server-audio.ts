// Audio helpers for the server specs: chunks and encoded frames with readable defaults.
import type { AudioChunk } from '../../src/audio/types.js';
import { encodeAudioFrame } from '../../src/protocol/index.js';

/** A small pcm16 mono chunk at 16 kHz whose samples encode `seq`, so reassembly can be checked. */
export function pcmChunk(seq: number, streamId = 0, length = 4): AudioChunk {
  const samples = new Int16Array(length);
  for (let i = 0; i < length; i++) samples[i] = ((seq * length + i) % 65536) - 32768;
  return {
    samples,
    sampleRate: 16_000,
    channels: 1,
    seq,
    timestamp: 1_700_000_000_000 + seq * 20,
    streamId,
  };
}

/** The binary frame for `pcmChunk(seq, streamId)`, as a socket delivers it. */
export function pcmFrame(seq: number, streamId = 0, length = 4): Uint8Array {
  return encodeAudioFrame(pcmChunk(seq, streamId, length));
}
