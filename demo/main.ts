// The demo until Ctrl-C, for `npx rxwire serve` and `npm start` (which runs it
// through the CLI, so PORT is checked the same way as --port). With TLS_CERT
// and TLS_KEY (paths to PEM files) it serves HTTPS and wss://.
import { readFileSync } from 'node:fs';
import { startDemo, type DemoOptions } from './server.js';

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
  const tls = tlsFromEnv();
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
    ...(tls ? { tls } : {}),
    ...(cluster ? { cluster } : {}),
  });
  console.log(
    `rxwire demo on ${demo.url} (WebSocket at ${tls ? 'wss' : 'ws'}://localhost:${demo.port}/ws` +
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

/** The certificate chain and key named by TLS_CERT and TLS_KEY (PEM files), or none. */
function tlsFromEnv(): DemoOptions['tls'] {
  const { TLS_CERT: cert, TLS_KEY: key } = process.env;
  if (!cert && !key) return undefined;
  if (!cert || !key)
    throw new Error('set both TLS_CERT and TLS_KEY (paths to PEM files), or neither');
  return { cert: readFileSync(cert), key: readFileSync(key) };
}
