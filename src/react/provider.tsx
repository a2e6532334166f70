'use client';
import {
  createContext,
  useContext,
  useEffect,
  useReducer,
  useState,
  type ReactElement,
  type ReactNode,
} from 'react';
import type { Client } from '../client/client.js';
import type { ClientOptions } from '../client/options.js';
import { ErrorCode, RxwireTypeError, type AnyProtocol, type Protocol } from '../protocol/index.js';
import { OwnedClient } from './owned-client.js';
import type { RegisteredProtocol } from './register.js';

const RxwireContext = createContext<Client<AnyProtocol> | null>(null);
RxwireContext.displayName = 'RxwireContext';

/** Props of {@link RxwireProvider}: a `client` to share, or `options` for a client the provider owns. */
export type RxwireProviderProps<P extends Protocol = RegisteredProtocol> = {
  children?: ReactNode;
} & (
  | {
      /**
       * A client you made (with `createClient`): shared with every hook below,
       * never connected, disconnected or disposed by the provider. Another
       * client here switches every hook below to it. @default none
       */
      client: Client<P>;
      options?: undefined;
    }
  | {
      /**
       * `createClient` options: the provider makes the client on its first
       * render (with `autoConnect: false`, so nothing opens during a render or
       * on a server), connects it in an effect unless `autoConnect: false`,
       * and disposes it when it unmounts for real (StrictMode's remount keeps
       * it). Read once: to start over with other options, change the
       * provider's `key`. @default none
       */
      options: ClientOptions<P['server']>;
      client?: undefined;
    }
);

/**
 * Gives the hooks below it one rxwire client: the `client` you pass (shared,
 * never disposed by the provider), or one it makes from `options` and owns
 * (connected in an effect, disposed on a real unmount, one connection under
 * StrictMode). Safe to render on a server: nothing connects there.
 *
 * @example
 * ```tsx
 * export function App() {
 *   return (
 *     <RxwireProvider<ChatProtocol> options={{ url: 'wss://chat.example/ws', token: getToken }}>
 *       <StatusHeader />
 *       <Chat />
 *     </RxwireProvider>
 *   );
 * }
 * ```
 */
export function RxwireProvider<P extends Protocol = RegisteredProtocol>(
  props: RxwireProviderProps<P>,
): ReactElement {
  const { client: shared, options, children } = props;
  if ((shared === undefined) === (options === undefined)) {
    throw new RxwireTypeError(
      ErrorCode.InvalidOption,
      'RxwireProvider: pass either `client` (a client you made and keep) or `options` (the provider makes and owns the client), not both or neither',
    );
  }
  const [owner] = useState(() =>
    options === undefined ? undefined : new OwnedClient(options as ClientOptions<never>),
  );
  if ((owner === undefined) !== (options === undefined)) {
    throw new RxwireTypeError(
      ErrorCode.InvalidOption,
      'RxwireProvider: a provider cannot switch between `client` and `options`; give it another `key` to start over',
    );
  }
  const [, rerender] = useReducer((n: number) => n + 1, 0);
  const client = (shared as Client<AnyProtocol> | undefined) ?? owner!.client;

  useEffect(() => {
    if (owner === undefined) return;
    // A client disposed while its provider's effects were down is replaced: render the new one.
    if (owner.acquire() !== client) rerender();
    return () => owner.release();
    // The owner is what the effect holds; `client` only tells a replacement apart.
  }, [owner]);

  return <RxwireContext.Provider value={client}>{children}</RxwireContext.Provider>;
}

/**
 * The client of the nearest `<RxwireProvider>`, typed with your protocol
 * (see {@link Register}, or pass it: `useRxwire<ChatProtocol>()`). Every
 * component under one provider gets the same client. Outside a provider it
 * throws `RxwireTypeError` `RXWIRE_NO_PROVIDER`.
 *
 * @example
 * ```tsx
 * function TypingBox() {
 *   const client = useRxwire<ChatProtocol>();
 *   return <input onChange={() => client.send('typing', { on: true })} />;
 * }
 * ```
 */
export function useRxwire<P extends Protocol = RegisteredProtocol>(): Client<P> {
  return useProvidedClient('useRxwire') as unknown as Client<P>;
}

/** The provider's client for a hook named `hook`, or the `RXWIRE_NO_PROVIDER` error naming it. */
export function useProvidedClient(hook: string): Client<AnyProtocol> {
  const client = useContext(RxwireContext);
  if (client === null) {
    throw new RxwireTypeError(
      ErrorCode.NoProvider,
      `${hook}() was called outside an <RxwireProvider>: render the component inside ` +
        '<RxwireProvider client={client}> or <RxwireProvider options={...}>',
    );
  }
  return client;
}
