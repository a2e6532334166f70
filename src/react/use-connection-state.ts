'use client';
import { useCallback, useEffect, useMemo, useRef, useSyncExternalStore } from 'react';
import { skip } from 'rxjs';
import type { Client } from '../client/client.js';
import type { ConnectionState } from '../client/state.js';
import type { AnyProtocol } from '../protocol/index.js';
import { useProvidedClient } from './provider.js';

/**
 * The provider's connection state, kept current with `useSyncExternalStore`
 * (`client.state` is the snapshot: the same object until something changes,
 * so React never loops on it). With a `selector`, the component re-renders
 * only when the selected value changes by `isEqual`, not on every change of
 * state. On a server, and while hydrating, it reads an `idle` state, so the
 * markup matches.
 *
 * The delivery counters (`unacked`, `resent`, `duplicates`) are read live:
 * they show their latest value at each render, but do not cause one.
 *
 * @param selector picks what the component needs. @default the whole state
 * @param isEqual tells when two selections are the same. @default shallow equality (`Object.is` on each own key, or on the values themselves)
 *
 * @example
 * ```tsx
 * function Latency() {
 *   const latency = useConnectionState((s) => s.latencyMs); // renders only when it changes
 *   return <span>{latency === undefined ? '–' : `${Math.round(latency)} ms`}</span>;
 * }
 * ```
 */
export function useConnectionState(): ConnectionState;
export function useConnectionState<T>(
  selector: (state: ConnectionState) => T,
  isEqual?: (a: T, b: T) => boolean,
): T;
export function useConnectionState<T>(
  selector?: (state: ConnectionState) => T,
  isEqual: (a: T, b: T) => boolean = shallowEqual,
): T | ConnectionState {
  const client = useProvidedClient('useConnectionState');
  const subscribe = useCallback(
    (onChange: () => void) => {
      // state$ replays the current state first; React compares snapshots itself after subscribing.
      const subscription = client.state$.pipe(skip(1)).subscribe(onChange);
      return () => subscription.unsubscribe();
    },
    [client],
  );
  const getSnapshot = useCallback(() => client.state, [client]);
  const getServerSnapshot = useCallback(() => serverState(client), [client]);
  return useSyncExternalStoreWithSelector(
    subscribe,
    getSnapshot,
    getServerSnapshot,
    selector ?? (identity as (state: ConnectionState) => T),
    selector === undefined ? Object.is : isEqual,
  );
}

const identity = <T>(value: T): T => value;

/** What a server render (and hydration) shows: the state of a client that has not connected yet. */
const serverStates = new WeakMap<Client<AnyProtocol>, ConnectionState>();
function serverState(client: Client<AnyProtocol>): ConnectionState {
  let state = serverStates.get(client);
  if (state === undefined) {
    const { maxAttempts, transport } = client.state;
    state = Object.freeze({
      status: 'idle',
      attempt: 0,
      maxAttempts,
      transport,
      queued: 0,
      dropped: 0,
      unacked: 0,
      resent: 0,
      duplicates: 0,
    } satisfies ConnectionState);
    serverStates.set(client, state);
  }
  return state;
}

/**
 * `useSyncExternalStore` through a selector, as React's
 * `use-sync-external-store/with-selector` does it: the selection is memoized
 * per snapshot, and a new selection equal (by `isEqual`) to the previous one
 * is replaced by the previous one, so React bails out of the render.
 */
function useSyncExternalStoreWithSelector<S, T>(
  subscribe: (onChange: () => void) => () => void,
  getSnapshot: () => S,
  getServerSnapshot: () => S,
  selector: (snapshot: S) => T,
  isEqual: (a: T, b: T) => boolean,
): T {
  // The selection React last committed: a new selector (an inline arrow) starts from it.
  const committed = useRef<{ value: T } | null>(null);
  const [getSelection, getServerSelection] = useMemo(() => {
    let memo: { snapshot: S; selection: T } | undefined;
    const select = (snapshot: S): T => {
      if (memo !== undefined && Object.is(memo.snapshot, snapshot)) return memo.selection;
      const next = selector(snapshot);
      const previous = memo !== undefined ? { value: memo.selection } : committed.current;
      const selection = previous !== null && isEqual(previous.value, next) ? previous.value : next;
      memo = { snapshot, selection };
      return selection;
    };
    return [() => select(getSnapshot()), () => select(getServerSnapshot())];
  }, [getSnapshot, getServerSnapshot, selector, isEqual]);
  const value = useSyncExternalStore(subscribe, getSelection, getServerSelection);
  useEffect(() => {
    committed.current = { value };
  }, [value]);
  return value;
}

/** `Object.is` on the values, or on each own key of two plain objects or arrays. */
export function shallowEqual<T>(a: T, b: T): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const keysA = Object.keys(a);
  if (keysA.length !== Object.keys(b).length) return false;
  return keysA.every(
    (key) =>
      Object.prototype.hasOwnProperty.call(b, key) &&
      Object.is((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key]),
  );
}
