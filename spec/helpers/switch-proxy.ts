// A TCP proxy on a loopback port whose upstream can be switched: new
// connections go to the current target, `cutAll()` drops the live ones (an
// RST, like a network cut). A client behind it reconnects to whichever node
// is the target then, which is how the cluster tests move a client between
// nodes without changing its URL.
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';

export interface SwitchProxy {
  readonly url: string;
  /** Where new connections go from now on. */
  target(port: number): void;
  cutAll(): void;
  close(): Promise<void>;
}

export async function startSwitchProxy(initial: number): Promise<SwitchProxy> {
  let targetPort = initial;
  const pairs = new Set<[net.Socket, net.Socket]>();
  const server = net.createServer((client) => {
    const upstream = net.connect({ host: '127.0.0.1', port: targetPort });
    const pair: [net.Socket, net.Socket] = [client, upstream];
    pairs.add(pair);
    const drop = (): void => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `ws://127.0.0.1:${port}/ws`,
    target: (p) => {
      targetPort = p;
    },
    cutAll: () => {
      for (const pair of [...pairs]) {
        pairs.delete(pair);
        if (!pair[0].destroyed) pair[0].resetAndDestroy();
        pair[1].destroy();
      }
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const [client, upstream] of pairs) {
          client.destroy();
          upstream.destroy();
        }
        server.close(() => resolve());
      }),
  };
}
