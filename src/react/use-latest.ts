'use client';
import { useInsertionEffect, useRef } from 'react';

/**
 * A ref that holds the value of the latest committed render: callbacks read
 * the newest handler or options through it without resubscribing. Updated
 * in an insertion effect, before any other effect of the commit runs (and
 * never on a server).
 */
export function useLatest<T>(value: T): { readonly current: T } {
  const ref = useRef(value);
  useInsertionEffect(() => {
    ref.current = value;
  });
  return ref;
}
