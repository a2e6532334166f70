// Servers as nodes of one in-memory cluster (a MemoryHub), on loopback port 0,
// closed by the test's Disposer.
import type { Protocol } from '../../src/protocol/index.js';
import type { ServerOptions } from '../../server/index.js';
import { memoryCluster, MemoryHub, type MemoryClusterOptions } from '../../cluster/index.js';
import { Disposer, startServer, type TestServer } from '../helpers/server-harness.js';

export { MemoryHub };

export interface NodeOptions<P extends Protocol, U> extends Omit<
  ServerOptions<P, U>,
  'server' | 'port' | 'cluster'
> {
  cluster?: Partial<Omit<MemoryClusterOptions, 'hub'>>;
}

/** Starts one server per node id, all on `hub`. */
export async function startNodes<P extends Protocol, U = unknown>(
  disposer: Disposer,
  hub: MemoryHub,
  ids: readonly string[],
  options: NodeOptions<P, U> = {},
): Promise<Array<TestServer<P, U>>> {
  const { cluster, ...rest } = options;
  const nodes: Array<TestServer<P, U>> = [];
  for (const nodeId of ids) {
    nodes.push(
      await startServer<P, U>(disposer, {
        heartbeat: false,
        ...rest,
        cluster: memoryCluster({ hub, nodeId, nodeTtl: 3_000, ...cluster }),
      } as Omit<ServerOptions<P, U>, 'server' | 'port'>),
    );
  }
  return nodes;
}

import { WebSocket } from 'ws';
import {
  createClient,
  type Client,
  type ClientOptions,
  type WebSocketConstructor,
} from '../../src/index.js';

/** A real client that reconnects fast (tests move it between nodes by cutting its connection). */
export function fastClient<P extends Protocol>(
  disposer: Disposer,
  url: string,
  options: ClientOptions<P['server']> = {},
): Client<P> {
  const client = createClient<P>({
    url,
    WebSocketCtor: WebSocket as unknown as WebSocketConstructor,
    reconnect: { initialDelay: 10, maxDelay: 100, maxAttempts: 1_000 },
    heartbeat: false,
    ...options,
  });
  disposer.add(() => client.dispose());
  return client;
}
