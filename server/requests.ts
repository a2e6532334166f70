import { Observable, from, type ObservableInput, type Subscriber } from 'rxjs';
import {
  Control,
  ErrorCode,
  QueueFullError,
  validatePayload,
  type Envelope,
  type Validator,
} from '../src/protocol/index.js';
import { describeHandlerError, errorPayload, payloadJson } from './frames.js';

/** A request handler as the core stores it (the typed one is in server.ts). */
export type AnyHandler = (request: unknown, session: never) => ObservableInput<unknown>;

/** What request streams need from their session and server. */
export interface RequestContext {
  readonly handlers: ReadonlyMap<string, AnyHandler>;
  readonly validators: ReadonlyMap<string, Validator>;
  /**
   * Sends one sequenced frame with an encoded payload. Throws `QueueFullError`
   * over the session's unacked bound unless `force` (a stream's last frame).
   */
  emit(type: string, json: string, replyTo: string, force: boolean): void;
  /** Rejects a bad client frame: `$error` plus a rate-limited log line. */
  reject(code: string, message: string, replyTo?: string): void;
  /** Logs a failed handler (not a client fault, so it is not the bad-frame log). */
  handlerFailed(type: string, requestId: string, error: unknown): void;
}

/**
 * The request streams of one session: each `request: true` envelope runs its
 * handler, each value goes out as `$next`, the end as `$complete` or `$error`,
 * and `$cancel` unsubscribes. Requests are isolated from one another.
 */
export class RequestStreams {
  private readonly inflight = new Map<string, Subscriber<unknown>>();
  /** Called when the last request in flight ends (see {@link idle}). */
  private waiters: Array<() => void> | undefined = undefined;

  constructor(
    private readonly context: RequestContext,
    private readonly session: unknown,
  ) {}

  /** Number of requests in flight. */
  get size(): number {
    return this.inflight.size;
  }

  start(envelope: Envelope): void {
    const { context } = this;
    const { id, type } = envelope;
    if (this.inflight.has(id)) {
      context.reject(ErrorCode.DuplicateRequest, `request id '${id}' is already in flight`, id);
      return;
    }
    const handler = context.handlers.get(type);
    if (!handler) {
      context.reject(ErrorCode.NoHandler, `no handler for request type '${type}'`, id);
      return;
    }
    let payload = envelope.payload;
    const validator = context.validators.get(type);
    if (validator) {
      const verdict = validatePayload(validator, payload);
      if (!verdict.ok) {
        context.reject(
          ErrorCode.InvalidPayload,
          `invalid '${type}' payload: ${verdict.message}`,
          id,
        );
        return;
      }
      payload = verdict.value;
    }
    const session = this.session as never;
    // The handler runs inside this Observable so a synchronous throw, or a
    // return value that is not ObservableInput, errors only this request.
    // Holding the inner Subscriber lets $cancel stop even a synchronous source.
    const source = new Observable<unknown>((subscriber) => {
      this.inflight.set(id, subscriber);
      return from(handler(payload, session)).subscribe(subscriber);
    });
    source.subscribe({
      next: (value) => this.next(type, id, value),
      error: (error: unknown) => {
        if (!this.inflight.delete(id)) return;
        this.settled();
        context.handlerFailed(type, id, error);
        const { code, message, details } = describeHandlerError(error);
        context.emit(
          Control.Error,
          payloadJson(errorPayload(code, message, id, details)),
          id,
          true,
        );
      },
      complete: () => {
        if (!this.inflight.delete(id)) return;
        this.settled();
        context.emit(Control.Complete, 'null', id, true);
      },
    });
  }

  /** Handles `$cancel`: stops the handler; nothing more is sent for `id`. Unknown ids are ignored (the request may just have ended). */
  cancel(id: string): void {
    const subscriber = this.inflight.get(id);
    if (!subscriber) return;
    this.inflight.delete(id);
    subscriber.unsubscribe();
    this.settled();
  }

  /** Stops every request (the session ended). */
  dispose(): void {
    const all = [...this.inflight.values()];
    this.inflight.clear();
    for (const subscriber of all) subscriber.unsubscribe();
    this.settled();
  }

  /**
   * Stops every request and ends each with a sequenced `$error` carrying
   * `code` (the session moved to another node: the client gets the error
   * once, after it resumed there).
   */
  endAll(code: string, message: string): void {
    const ids = [...this.inflight.keys()];
    this.dispose();
    for (const id of ids) {
      this.context.emit(Control.Error, payloadJson(errorPayload(code, message, id)), id, true);
    }
  }

  /** Resolves when no request is in flight, or after `timeoutMs`, whichever comes first. */
  idle(timeoutMs: number): Promise<void> {
    if (this.inflight.size === 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, timeoutMs);
      const waiters = (this.waiters ??= []);
      waiters.push(done);
      function done(): void {
        clearTimeout(timer);
        const i = waiters.indexOf(done);
        if (i >= 0) waiters.splice(i, 1);
        resolve();
      }
    });
  }

  private settled(): void {
    if (this.inflight.size > 0 || this.waiters === undefined) return;
    for (const wake of [...this.waiters]) wake();
  }

  private next(type: string, id: string, value: unknown): void {
    if (!this.inflight.has(id)) return;
    let json: string;
    try {
      json = payloadJson(value);
    } catch (error) {
      // An unserializable value (a cycle, a BigInt) fails this request only.
      this.fail(
        type,
        id,
        error,
        ErrorCode.HandlerError,
        'response value could not be encoded as JSON',
      );
      return;
    }
    try {
      this.context.emit(Control.Next, json, id, false);
    } catch (error) {
      if (!(error instanceof QueueFullError)) throw error;
      this.fail(type, id, error, ErrorCode.QueueFull, error.message);
    }
  }

  /** Ends one request from the server side with `$error`, unsubscribing its handler. */
  private fail(type: string, id: string, error: unknown, code: string, message: string): void {
    const subscriber = this.inflight.get(id);
    this.inflight.delete(id);
    subscriber?.unsubscribe();
    this.settled();
    this.context.handlerFailed(type, id, error);
    this.context.emit(Control.Error, payloadJson(errorPayload(code, message, id)), id, true);
  }
}
