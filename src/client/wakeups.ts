import { NEVER, fromEvent, merge, filter, type Observable } from 'rxjs';

interface BrowserGlobals {
  addEventListener?: unknown;
  document?: { visibilityState?: string; addEventListener?: unknown };
}

/**
 * In a browser: emits when the network comes back (`online`) or the page becomes
 * visible again, the two moments a pending backoff is worth cutting short.
 * Elsewhere it never emits.
 */
export function browserWakeups(): Observable<unknown> {
  const g = globalThis as BrowserGlobals;
  const sources: Observable<unknown>[] = [];
  if (typeof g.addEventListener === 'function') {
    sources.push(fromEvent(g as unknown as EventTarget, 'online'));
  }
  const doc = g.document;
  if (doc && typeof doc.addEventListener === 'function') {
    sources.push(
      fromEvent(doc as unknown as EventTarget, 'visibilitychange').pipe(
        filter(() => doc.visibilityState === 'visible'),
      ),
    );
  }
  return sources.length ? merge(...sources) : NEVER;
}
