// Which address a connection comes from: the socket's, or, behind proxies the
// app trusts, the one they recorded in X-Forwarded-For. The connection limits
// count by it and sessions show it (`session.request.ip`).
import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';

/**
 * How far to trust `X-Forwarded-For` (the server option `trustProxy`):
 * `false` not at all (the socket address), a number `n` for `n` proxies in
 * front of the server (the `n`-th entry from the right), `true` for the
 * left-most entry. Express's `trust proxy` with a boolean or a number.
 */
export type TrustProxy = boolean | number;

/** Longest address kept from a header: a full IPv6 address with a zone fits. */
const MAX_ADDRESS = 64;

/**
 * The client's address for `request` under `trustProxy`. Each proxy appends
 * the address it received the request from to `X-Forwarded-For`, so with `n`
 * trusted proxies the `n`-th entry from the right is the address the
 * outermost one saw; with fewer entries than that, the left-most. Addresses
 * are normalized (see {@link normalizeAddress}).
 *
 * @example
 * ```ts
 * // Behind one load balancer: X-Forwarded-For: "203.0.113.9, 10.0.0.7" from 10.0.0.2
 * clientAddress(request, 1); // '10.0.0.7' (what the load balancer saw)
 * clientAddress(request, 2); // '203.0.113.9'
 * clientAddress(request, false); // '10.0.0.2' (the socket)
 * ```
 */
export function clientAddress(request: IncomingMessage, trustProxy: TrustProxy): string {
  const socket = socketAddress(request);
  if (trustProxy === false || trustProxy === 0) return socket;
  const header = request.headers['x-forwarded-for'];
  if (header === undefined) return socket;
  const hops = (Array.isArray(header) ? header.join(',') : header)
    .split(',')
    .map((hop) => hop.trim())
    .filter((hop) => hop.length > 0);
  if (hops.length === 0) return socket;
  const entry = trustProxy === true ? hops[0]! : hops[Math.max(0, hops.length - trustProxy)]!;
  return normalizeAddress(entry);
}

/** The normalized remote address of the request's socket ('' once the socket is gone). */
export function socketAddress(request: IncomingMessage): string {
  // A request made up by a test (or a socket already destroyed) may have none.
  const socket = request.socket as IncomingMessage['socket'] | undefined;
  return normalizeAddress(socket?.remoteAddress ?? '');
}

/**
 * One spelling per address, so that one client counts once: lower case,
 * without a port (`1.2.3.4:5678`, `[::1]:443`, as some proxies write them),
 * IPv4-mapped IPv6 (`::ffff:1.2.3.4`, how a dual-stack server sees IPv4
 * clients) as plain IPv4. Anything that is not an IP address is kept as
 * written, cut to 64 characters.
 */
export function normalizeAddress(address: string): string {
  // The common case, a socket's IPv4 address, is normalized already: keep
  // that string rather than allocate a copy per connection.
  if (isIP(address) === 4) return address;
  let a = address.trim().toLowerCase();
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(a);
  if (bracketed !== null) a = bracketed[1]!;
  else {
    const withPort = /^(\d{1,3}(?:\.\d{1,3}){3}):\d+$/.exec(a);
    if (withPort !== null) a = withPort[1]!;
  }
  if (a.startsWith('::ffff:') && isIP(a.slice(7)) === 4) a = a.slice(7);
  return isIP(a) !== 0 ? a : a.slice(0, MAX_ADDRESS);
}
