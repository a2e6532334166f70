// What an application observes on a session: its messages, per-type streams,
// audio, `connected$` and `closed$`. Every stream completes when the session
// ends (or, on a clustered server, moves to another node).
import { EMPTY, of, type Observable } from 'rxjs';
import type { AudioChunk } from '../src/audio/types.js';
import {
  Router,
  type AnyProtocol,
  type ClientType,
  type Envelope,
  type PayloadOf,
  type Protocol,
} from '../src/protocol/index.js';
import { Fanout } from '../src/protocol/fanout.js';
import { SessionAudio } from './audio.js';
import type { AudioStreamStats, SessionAudioStats } from './audio-stats.js';
import type { InboundMessage, SessionClose } from './session-types.js';

/** The audio stats of a session that never received audio. */
const NO_AUDIO: SessionAudioStats = Object.freeze({
  streams: new Map<number, AudioStreamStats>() as ReadonlyMap<number, AudioStreamStats>,
  overLimit: 0,
  rejected: 0,
});

/**
 * The streams of one session. A session makes this object on the first use
 * of any stream, and each stream inside it on its own first use, so an idle
 * session that nobody observes carries none of them. The streams are
 * {@link Fanout}s and {@link Router}s: a subscriber costs rxjs's own objects
 * and nothing more.
 */
export class SessionStreams<P extends Protocol = AnyProtocol> {
  private all: Fanout<InboundMessage<P>> | undefined = undefined;
  private routes: Router<string, unknown> | undefined = undefined;
  private audioAll: Fanout<AudioChunk> | undefined = undefined;
  private audioState: SessionAudio | undefined = undefined;
  private connectedHub: Fanout<boolean> | undefined = undefined;
  private closedHub: Fanout<SessionClose> | undefined = undefined;
  /** How the session ended, once it has. */
  private ending: SessionClose | undefined = undefined;

  constructor(private readonly maxAudioStreams: number) {}

  /** True once {@link end} ran. */
  get ended(): boolean {
    return this.ending !== undefined;
  }

  get messages$(): Observable<InboundMessage<P>> {
    if (this.all !== undefined) return this.all;
    if (this.ended) return EMPTY;
    return (this.all = new Fanout<InboundMessage<P>>());
  }

  on<K extends ClientType<P>>(type: K): Observable<PayloadOf<P['client'], K>> {
    if (this.routes === undefined) {
      if (this.ended) return EMPTY;
      this.routes = new Router<string, unknown>();
    }
    return this.routes.observe(type) as Observable<PayloadOf<P['client'], K>>;
  }

  get closed$(): Observable<SessionClose> {
    if (this.ending !== undefined) return of(this.ending);
    return (this.closedHub ??= new Fanout<SessionClose>());
  }

  /** `connected$`, starting from `connected` (the session's current value). */
  connected$(connected: boolean): Observable<boolean> {
    if (this.connectedHub !== undefined) return this.connectedHub;
    if (this.ended) return of(false);
    return (this.connectedHub = Fanout.current(connected));
  }

  get audio$(): Observable<AudioChunk> {
    if (this.audioAll !== undefined) return this.audioAll;
    if (this.ended) return EMPTY;
    return (this.audioAll = new Fanout<AudioChunk>());
  }

  get audioStats$(): Observable<SessionAudioStats> {
    return this.audio.stats$;
  }

  get audioStats(): SessionAudioStats {
    return this.audioState?.stats ?? NO_AUDIO;
  }

  audioStream(streamId: number): Observable<AudioChunk> {
    return this.audio.stream(streamId);
  }

  /** Hands one accepted client message to `messages$` and the `on(type)` subscribers. */
  dispatch(envelope: Envelope): void {
    if (this.all?.observed) this.all.next(envelope as InboundMessage<P>);
    this.routes?.dispatch(envelope.type, envelope.payload);
  }

  /** Counts and emits one decoded audio chunk; returns why it was refused, or null. */
  deliverAudio(chunk: AudioChunk): string | null {
    return this.audio.deliver(chunk, this.audioAll);
  }

  audioOverLimit(): void {
    this.audio.droppedOverLimit();
  }

  audioRejected(): void {
    this.audio.rejectedFrame();
  }

  /** The connection came or went: `connected$` emits (only if someone made it). */
  connectedChanged(up: boolean): void {
    this.connectedHub?.next(up);
  }

  /** Completes every stream and emits `closed$` once. Idempotent. */
  end(close: SessionClose): void {
    if (this.ending !== undefined) return;
    this.ending = close;
    this.all?.end();
    this.audioAll?.end();
    this.audioState?.end();
    this.routes?.complete();
    const connected = this.connectedHub;
    if (connected?.current === true) connected.next(false);
    connected?.end();
    this.closedHub?.end({ value: close });
  }

  private get audio(): SessionAudio {
    if (this.audioState === undefined) {
      this.audioState = new SessionAudio(this.maxAudioStreams);
      if (this.ended) this.audioState.end();
    }
    return this.audioState;
  }
}
