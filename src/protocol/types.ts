/**
 * The shape of an application protocol, shared by client and server:
 * `client` maps the types the client sends to their payloads, `server` the
 * types the server sends, `requests` the request streams the server handles.
 *
 * @example
 * ```ts
 * interface Chat extends Protocol {
 *   client: { typing: { on: boolean } };
 *   server: { presence: { online: number } };
 *   requests: { chat: { request: { text: string }; response: { token: string } } };
 * }
 * ```
 */
export interface Protocol {
  client: object;
  server: object;
  requests?: object;
}

/** A protocol where every type name and payload is allowed (the default when none is given). */
export interface AnyProtocol extends Protocol {
  client: Record<string, unknown>;
  server: Record<string, unknown>;
  requests: Record<string, { request: unknown; response: unknown }>;
}

/** Type names a map defines, without reserved `$` names. */
export type TypeName<M> = Exclude<keyof M & string, `$${string}`>;

/** Message types the client sends. */
export type ClientType<P extends Protocol> = TypeName<P['client']>;
/** Message types the server sends. */
export type ServerType<P extends Protocol> = TypeName<P['server']>;
/** Request types the server handles. */
export type RequestType<P extends Protocol> = TypeName<NonNullable<P['requests']>>;

/** Payload of one message type. */
export type PayloadOf<M, K> = K extends keyof M ? M[K] : never;
/** Request payload of one request type. */
export type RequestOf<P extends Protocol, K> = K extends keyof NonNullable<P['requests']>
  ? NonNullable<P['requests']>[K] extends { request: infer R }
    ? R
    : never
  : never;
/** Response value (one `$next`) of one request type. */
export type ResponseOf<P extends Protocol, K> = K extends keyof NonNullable<P['requests']>
  ? NonNullable<P['requests']>[K] extends { response: infer R }
    ? R
    : never
  : never;
