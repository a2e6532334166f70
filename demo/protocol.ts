import type { Protocol } from '../src/protocol/index.js';

/**
 * What the server saw of the page's microphone stream, sent back as an
 * `audio_view` message every 500 ms while audio arrives (and once more when it stops).
 */
export interface AudioView {
  /** The stream id the page put on its chunks (a new one per Start). */
  streamId: number;
  /** Seconds of audio received on this stream (samples / sample rate). */
  seconds: number;
  /** Frames received (duplicates included), from the session's audio stats. */
  frames: number;
  /** Sequence numbers skipped and never received. */
  lost: number;
  /** Late frames that filled a gap. */
  reordered: number;
  /** Frames received per second over the last 2 s (0 when the stream went quiet). */
  framesPerSecond: number;
  /** Sample rate of the last frame, in Hz. */
  sampleRate: number;
}

/** The demo's application protocol, shared by its server (demo/server.ts) and its page (demo/web/). */
export interface DemoProtocol extends Protocol {
  client: { typing: { on: boolean } };
  server: {
    /** Broadcast whenever a session joins or leaves. */
    presence: { online: number };
    /** The server's view of the page's microphone stream. */
    audio_view: AudioView;
  };
  requests: { chat: { request: { text: string }; response: { token: string } } };
}

/** `POST /demo/login` body: a display name and, optionally, the token's lifetime in seconds (0: already expired). */
export interface LoginRequest {
  name?: string;
  ttl?: number;
}

/** `POST /demo/login` answer. */
export interface LoginResponse {
  token: string;
  /** Seconds until the token expires (negative: it already has). */
  expiresIn: number;
}

/** `POST /demo/outage` body. */
export type OutageRequest =
  /** Close every session with 1012 (service restart); new connections are welcome at once. */
  | { mode: 'drop' }
  /** Close every session with 1013 (try again later) and refuse upgrades with HTTP 503 for `seconds`. */
  | { mode: 'refuse'; seconds: number };
