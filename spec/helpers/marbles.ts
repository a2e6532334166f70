import { TestScheduler } from 'rxjs/testing';
import { distinctUntilChanged, map, type Observable } from 'rxjs';
import type { ConnectionState } from '../../src/index';

/** A TestScheduler whose assertions go through jest's deep equality. */
export function testScheduler(): TestScheduler {
  return new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
}

/** `state$` reduced to its status changes, for compact marbles. */
export function statuses(state$: Observable<ConnectionState>): Observable<string> {
  return state$.pipe(
    map((s) => s.status),
    distinctUntilChanged(),
  );
}

/** Marble values for statuses: one letter each. */
export const S = {
  i: 'idle',
  c: 'connecting',
  o: 'connected',
  r: 'reconnecting',
  g: 'disconnecting',
  d: 'disconnected',
  e: 'error',
} as const;
