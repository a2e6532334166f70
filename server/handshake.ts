// The part of a connection that lasts only until `$welcome`: the upgrade
// request, the hello timer, the handshake slot under `maxHandshakes` and the
// frames a client pipelines after `$hello` (see connection.ts).
import { socketAddress } from './client-address.js';
import type { UpgradeInfo } from './connection-types.js';

/** Frames a client may pipeline after `$hello` before `$welcome`; they are replayed in order. */
const MAX_EARLY_FRAMES = 256;

/** The address a connection's session shows: what the limits counted it under. */
export function clientIp(info: UpgradeInfo): string {
  return info.admission?.ip ?? socketAddress(info.request);
}

/**
 * The part of a connection only its handshake needs (see {@link Connection}),
 * including its hold on the server: the hello timer and the handshake slot
 * under `maxHandshakes`, both let go by {@link clearTimer}.
 */
export class Handshake {
  /** Frames pipelined after `$hello`, replayed after `$welcome`; made on the first one. */
  early: Array<string | Uint8Array> | undefined = undefined;

  constructor(
    /** The upgrade request: a session keeps only what it needs of it. */
    readonly info: UpgradeInfo,
    /** Closes the connection when `$hello` (or authenticate) takes too long. */
    public timer: ReturnType<typeof setTimeout> | undefined,
  ) {}

  /** Keeps a frame for after `$welcome`; false when too many are waiting already. */
  keep(data: string | Uint8Array): boolean {
    const early = (this.early ??= []);
    if (early.length >= MAX_EARLY_FRAMES) return false;
    early.push(data);
    return true;
  }

  /** The handshake is over (the session opened, or the connection is closing): stops the timer, frees the slot. */
  clearTimer(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    this.info.admission?.endHandshake();
  }
}
