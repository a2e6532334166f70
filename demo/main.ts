// `npm start`: the demo on PORT (default 3001), stopped cleanly by Ctrl-C.
import { startDemo } from './server.js';

const consoleLogger = {
  info: (message: string, context?: object) => console.log(`[rxwire] ${message}`, context ?? ''),
  warn: (message: string, context?: object) => console.warn(`[rxwire] ${message}`, context ?? ''),
  error: (message: string, context?: object) => console.error(`[rxwire] ${message}`, context ?? ''),
};

/**
 * Runs the demo until SIGINT/SIGTERM; used by `npm start` and `npx rxwire serve`.
 * With `clusterUrl` (a redis:// URL) it runs as one node of a cluster; the
 * nodes share RXWIRE_CLUSTER_SECRET (resume tokens) and RXWIRE_DEMO_SECRET (logins).
 */
export async function runDemo(port: number, secret?: string, clusterUrl?: string): Promise<void> {
  // RXWIRE_DEMO_BLOCK_WEBSOCKET=1 answers every upgrade 403, to try the HTTP fallback
  // (open the page with ?transports=websocket,http).
  const blockWebSocket = process.env.RXWIRE_DEMO_BLOCK_WEBSOCKET === '1';
  let cluster;
  if (clusterUrl !== undefined) {
    const { redisCluster } = await import('../cluster/index.js');
    cluster = redisCluster({
      url: clusterUrl,
      secret: process.env.RXWIRE_CLUSTER_SECRET ?? '',
      ...(process.env.RXWIRE_NODE_ID ? { nodeId: process.env.RXWIRE_NODE_ID } : {}),
    });
  }
  const demo = await startDemo({
    port,
    logger: consoleLogger,
    blockWebSocket,
    ...(secret ? { secret } : {}),
    ...(cluster ? { cluster } : {}),
  });
  console.log(
    `rxwire demo on ${demo.url} (WebSocket at ws://localhost:${demo.port}/ws` +
      `${blockWebSocket ? ', blocked' : ''}; HTTP fallback at ${demo.url}/ws/http)`,
  );
  if (cluster) console.log(`one node of a cluster on ${clusterUrl} (node ${demo.server.nodeId})`);
  if (demo.secretGenerated) {
    console.log(`demo JWT secret (random; set RXWIRE_DEMO_SECRET to fix it): ${demo.secret}`);
  }
  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    console.log(`${signal}: closing sessions with 1001, then the http server`);
    await demo.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

if (require.main === module) {
  runDemo(Number(process.env.PORT ?? 3001), process.env.RXWIRE_DEMO_SECRET).catch(
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}
