'use client';
import type { AnyProtocol, Protocol } from '../protocol/index.js';

/**
 * Declare your protocol once and every hook is typed by it: message types,
 * payloads, request payloads and responses, without a type argument per call.
 *
 * @example
 * ```ts
 * declare module 'rxwire/react' {
 *   interface Register {
 *     protocol: ChatProtocol;
 *   }
 * }
 * ```
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- filled in by module augmentation
export interface Register {}

/** The protocol declared in {@link Register}, or `AnyProtocol` when none is. */
export type RegisteredProtocol = Register extends { protocol: infer P extends Protocol }
  ? P
  : AnyProtocol;
