import { Subject, type Observable } from 'rxjs';
import {
  Control,
  ErrorCode,
  ProtocolError,
  RemoteError,
  Router,
  validatePayload,
  type DecodedFrame,
  type Envelope,
  type ErrorPayload,
  type Logger,
  type RefreshedPayload,
  type RxwireError,
  type Validator,
} from '../protocol/index.js';
import type { Link } from './attempt.js';
import type { RequestRegistry } from './requests.js';

/** What inbound handling needs from the client. */
export interface InboundContext {
  validate: Readonly<Record<string, Validator | undefined>>;
  logger: Logger;
  requests: RequestRegistry;
  /** Sends a control frame on `link`, answering the frame `replyTo`. */
  reply(link: Link, type: string, payload: unknown, replyTo: string | undefined): void;
  /** The server asked for a fresh token (`$refresh` with id `replyTo`). */
  refresh(link: Link, replyTo: string): void;
}

/**
 * Everything the server sends after `$welcome`: control frames go to the
 * request registry or get answered, application envelopes are validated and
 * routed by type, and anything malformed is reported and answered with
 * `$error` without disturbing the connection.
 */
export class Inbound {
  private readonly router = new Router<string, unknown>();
  private readonly messages = new Subject<Envelope>();
  private readonly errors = new Subject<RxwireError>();
  readonly messages$: Observable<Envelope> = this.messages.asObservable();
  readonly errors$: Observable<RxwireError> = this.errors.asObservable();

  constructor(private readonly context: InboundContext) {}

  /** Payloads of one message type. */
  observe(type: string): Observable<unknown> {
    return this.router.observe(type);
  }

  handle(frame: DecodedFrame, link: Link): void {
    const { logger, requests } = this.context;
    if (frame.kind === 'invalid') {
      this.report(frame.error, { id: frame.id });
      this.reject(link, frame.error.code, frame.error.message, frame.id);
      return;
    }
    if (frame.kind === 'binary') {
      this.report(
        new ProtocolError(ErrorCode.BadBinaryFrame, 'unexpected binary frame from the server'),
      );
      return;
    }
    const envelope = frame.envelope;
    switch (envelope.type) {
      case Control.Ping:
        this.context.reply(link, Control.Pong, null, envelope.id);
        return;
      case Control.Next:
      case Control.Complete:
        if (!requests.handle(envelope)) {
          logger.debug('rxwire: response for an unknown request', { replyTo: envelope.replyTo });
        }
        return;
      case Control.Error:
        if (!requests.handle(envelope)) this.report(RemoteError.fromEnvelope(envelope));
        return;
      case Control.Refresh:
        this.context.refresh(link, envelope.id);
        return;
      case Control.Refreshed:
        logger.debug('rxwire: the server accepted the fresh token', {
          expiresAt: (envelope.payload as Partial<RefreshedPayload> | null)?.expiresAt,
        });
        return;
      case Control.Welcome:
      case Control.Hello:
      case Control.Cancel:
      case Control.Auth:
        logger.warn('rxwire: unexpected control frame', { type: envelope.type });
        return;
    }
    const validator = this.context.validate[envelope.type];
    if (validator) {
      const result = validatePayload(validator, envelope.payload);
      if (!result.ok) {
        const error = new ProtocolError(
          ErrorCode.InvalidPayload,
          `invalid '${envelope.type}' payload: ${result.message}`,
        );
        this.report(error, { id: envelope.id });
        this.reject(link, error.code, error.message, envelope.id);
        return;
      }
      envelope.payload = result.value;
    }
    if (this.messages.observed) this.messages.next(envelope);
    this.router.dispatch(envelope.type, envelope.payload);
  }

  /** Logs a problem that does not end the connection and emits it on `errors$`. */
  report(error: RxwireError, context: Record<string, unknown> = {}): void {
    this.context.logger.warn(`rxwire: ${error.message}`, { code: error.code, ...context });
    this.errors.next(error);
  }

  complete(): void {
    this.router.complete();
    this.messages.complete();
    this.errors.complete();
  }

  /** Answers a frame we could not accept with `$error`; the connection stays up. */
  private reject(link: Link, code: string, message: string, replyTo: string | undefined): void {
    const payload: ErrorPayload = { code, message };
    if (replyTo !== undefined) payload.replyTo = replyTo;
    this.context.reply(link, Control.Error, payload, replyTo);
  }
}
