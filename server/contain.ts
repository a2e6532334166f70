// Containing errors thrown by the app's subscribers of session streams.
//
// An error thrown inside a subscriber's `next` (`session.on('x').subscribe((p)
// => use(p.n))` with a payload that has no `n`) does not reach the code that
// called `next`: RxJS catches it and reports it as unhandled, which schedules
// a timer that calls `config.onUnhandledError`, or rethrows when none is set,
// and Node then ends the process with every session on it. One client could
// take the server down with one frame.
//
// RxJS 7 schedules that report through its `timeoutProvider`, synchronously,
// while the subscriber runs. So while the server hands a client's message to
// the app's subscribers, it routes that provider through a guard: a report
// made then is tagged with the session and the message type, and when its
// timer fires rxwire logs it, answers the peer with `$error`
// RXWIRE_HANDLER_ERROR, and passes the error on to `config.onUnhandledError`
// if the app set one (apps that watch unhandled errors keep seeing all of
// them). Without one, the error stops there instead of ending the process.
// Everything else, outside a dispatch, is untouched. The subscriber stays
// subscribed (RxJS keeps a subscriber whose `next` threw), so the session's
// later messages still reach it.
import { config } from 'rxjs';
import { timeoutProvider } from 'rxjs/internal/scheduler/timeoutProvider';

/** Who hears about an error a subscriber threw during a dispatch (a session). */
export interface SubscriberFailures {
  /** Called once per error, when RxJS's report fires: `type` and `id` name what was dispatched. */
  subscriberFailed(type: string, id: string | undefined, error: unknown): void;
}

type Delegate = NonNullable<typeof timeoutProvider.delegate>;

// The dispatch in progress (no object per dispatch: an error is rare, a
// dispatch is per message), and the provider delegate it replaced.
let sink: SubscriberFailures | undefined;
let dispatchedType = '';
let dispatchedId: string | undefined;
let outer: Delegate | undefined;

const guard: Delegate = {
  setTimeout(handler: () => void, timeout?: number, ...args: unknown[]) {
    const blamed = sink;
    const type = dispatchedType;
    const id = dispatchedId;
    const run =
      blamed === undefined
        ? handler
        : () => runBlamed(handler, (error) => blamed.subscriberFailed(type, id, error));
    const next = outer;
    return next !== undefined
      ? next.setTimeout(run, timeout, ...args)
      : setTimeout(run, timeout, ...args);
  },
  clearTimeout(handle) {
    const next = outer;
    if (next !== undefined) next.clearTimeout(handle);
    else clearTimeout(handle as ReturnType<typeof setTimeout>);
  },
};

/**
 * Runs `dispatch(a, b)` (handing what arrived, of `type`, to the app's
 * subscribers; two arguments so that no closure is made per message) so that an error a subscriber throws is reported to `to`
 * instead of ending the process. Nested dispatches report to the innermost.
 *
 * @example
 * ```ts
 * contained(session, envelope.type, envelope.id, dispatchTo, streams, envelope);
 * ```
 */
export function contained<A, B, R>(
  to: SubscriberFailures,
  type: string,
  id: string | undefined,
  dispatch: (a: A, b: B) => R,
  a: A,
  b: B,
): R {
  const savedSink = sink;
  const savedType = dispatchedType;
  const savedId = dispatchedId;
  const savedOuter = outer;
  const savedDelegate = timeoutProvider.delegate;
  sink = to;
  dispatchedType = type;
  dispatchedId = id;
  if (savedDelegate !== guard) outer = savedDelegate;
  timeoutProvider.delegate = guard;
  try {
    return dispatch(a, b);
  } finally {
    timeoutProvider.delegate = savedDelegate;
    sink = savedSink;
    dispatchedType = savedType;
    dispatchedId = savedId;
    outer = savedOuter;
  }
}

/** Runs RxJS's report with `report` seeing the error first, then the app's handler, if any. */
function runBlamed(handler: () => void, report: (error: unknown) => void): void {
  const appHandler = config.onUnhandledError;
  config.onUnhandledError = (error: unknown) => {
    report(error);
    appHandler?.(error);
  };
  try {
    handler();
  } finally {
    config.onUnhandledError = appHandler;
  }
}
