// The multi-process cluster harness: node processes (node-process.ts, bundled
// once with esbuild and forked with an IPC channel) on one private
// redis-server, behind scripts/cluster-proxy.mjs (round robin, no
// stickiness, optionally cutting every connection every few hundred ms).
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { buildSync } from 'esbuild';
import type { Protocol } from '../../src/protocol/index.js';
import type { ClusterStats, PresenceEntry } from '../../server/index.js';
import { freePort } from '../helpers/redis-server.js';

export interface ClusterProtocol extends Protocol {
  client: { up: { n: number } };
  server: { ack_up: { n: number }; down: { n: number }; news: { n: number } };
}

export type NodeCommand =
  | { id: number; cmd: 'sendTo'; sessionId: string; n: number }
  | { id: number; cmd: 'broadcast'; n: number }
  | { id: number; cmd: 'presence' }
  | { id: number; cmd: 'stats' }
  | { id: number; cmd: 'drain' };

export type NodeEvent =
  | { event: 'ready'; nodeId: string; port: number }
  | { event: 'session'; sessionId: string; nodeId: string; movedFrom: string | null }
  | { event: 'reply'; id: number; value: unknown; error?: string };

// The repository (RXWIRE_ROOT when this file runs bundled elsewhere, see scripts/cluster-handover.mjs).
const root = process.env.RXWIRE_ROOT ?? resolve(__dirname, '../..');
let bundleDir: string | undefined;
let bundle: string | undefined;

/** Bundles node-process.ts once per test file (dependencies stay in node_modules). */
export function nodeBundle(): string {
  if (bundle !== undefined) return bundle;
  bundleDir = mkdtempSync(join(tmpdir(), 'rxwire-cluster-node-'));
  bundle = join(bundleDir, 'node.cjs');
  buildSync({
    entryPoints: [join(root, 'spec/cluster/node-process.ts')],
    outfile: bundle,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    packages: 'external',
    logLevel: 'error',
  });
  return bundle;
}

export function removeBundle(): void {
  if (bundleDir !== undefined) rmSync(bundleDir, { recursive: true, force: true });
  bundle = bundleDir = undefined;
}

/** What every node of one cluster shares. */
export interface ClusterEnv {
  redisUrl: string;
  prefix: string;
  secret: string;
  nodeTtl: number;
}

/** One node process. */
export class NodeProcess {
  readonly sessions: Array<{ sessionId: string; nodeId: string; movedFrom: string | null }> = [];
  readonly exited: Promise<number | null>;
  private readonly replies = new Map<number, (event: { value: unknown; error?: string }) => void>();
  private nextId = 0;

  private constructor(
    readonly nodeId: string,
    readonly port: number,
    private readonly child: ChildProcess,
  ) {
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }

  static async start(env: ClusterEnv, nodeId: string, port: number): Promise<NodeProcess> {
    const child = fork(nodeBundle(), [], {
      env: {
        ...process.env,
        NODE_PATH: join(root, 'node_modules'),
        REDIS_URL: env.redisUrl,
        PREFIX: env.prefix,
        SECRET: env.secret,
        NODE_TTL: String(env.nodeTtl),
        NODE_ID: nodeId,
        PORT: String(port),
      },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const node = new NodeProcess(nodeId, port, child);
    const ready = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`node ${nodeId} did not start`)), 20_000);
      child.on('message', (event: NodeEvent) => {
        if (event.event === 'ready') {
          clearTimeout(timer);
          resolve();
        } else if (event.event === 'session') {
          node.sessions.push(event);
        } else if (event.event === 'reply') {
          node.replies.get(event.id)?.(event);
          node.replies.delete(event.id);
        }
      });
      child.once('exit', (code) =>
        reject(new Error(`node ${nodeId} exited (${code}) before it was ready`)),
      );
    });
    await ready;
    return node;
  }

  /** Sends a command and resolves with its reply's value (rejects with the error code). */
  ask<T>(command: DistributiveOmit<NodeCommand, 'id'>, ms = 30_000): Promise<T> {
    const id = ++this.nextId;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${this.nodeId}: no reply to ${command.cmd}`)),
        ms,
      );
      this.replies.set(id, (event) => {
        clearTimeout(timer);
        if (event.error !== undefined)
          reject(Object.assign(new Error(event.error), { code: event.error }));
        else resolve(event.value as T);
      });
      this.child.send({ ...command, id } as NodeCommand);
    });
  }

  sendTo(sessionId: string, n: number): Promise<boolean> {
    return this.ask({ cmd: 'sendTo', sessionId, n });
  }

  broadcast(n: number): Promise<number> {
    return this.ask({ cmd: 'broadcast', n });
  }

  presence(): Promise<PresenceEntry[]> {
    return this.ask({ cmd: 'presence' });
  }

  stats(): Promise<ClusterStats> {
    return this.ask({ cmd: 'stats' });
  }

  /** Drains (then closes) the node and waits for the process to exit. */
  async drain(): Promise<void> {
    await this.ask({ cmd: 'drain' }, 60_000);
    await this.exited;
  }

  /** `kill -9`. */
  kill(): Promise<number | null> {
    this.child.kill('SIGKILL');
    return this.exited;
  }

  stop(): Promise<unknown> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return Promise.resolve();
    this.child.kill('SIGKILL');
    return this.exited;
  }
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** scripts/cluster-proxy.mjs as a child process. */
export class ProxyProcess {
  private constructor(
    readonly port: number,
    private readonly child: ChildProcess,
  ) {}

  get url(): string {
    return `ws://127.0.0.1:${this.port}/ws`;
  }

  static async start(ports: readonly number[], cutEveryMs = 0): Promise<ProxyProcess> {
    const args = [join(root, 'scripts/cluster-proxy.mjs'), '--listen', '0'];
    if (cutEveryMs > 0) args.push('--cut-every', String(cutEveryMs));
    const child = spawn(process.execPath, [...args, ...ports.map((p) => `127.0.0.1:${p}`)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const port = await new Promise<number>((resolve, reject) => {
      const lines = createInterface({ input: child.stdout! });
      lines.once('line', (line) => {
        const match = /^listening (\d+)$/.exec(line);
        if (match) resolve(Number(match[1]));
        else reject(new Error(`cluster-proxy said: ${line}`));
      });
      child.once('exit', (code) => reject(new Error(`cluster-proxy exited (${code})`)));
    });
    return new ProxyProcess(port, child);
  }

  stop(): Promise<void> {
    return new Promise((resolve) => {
      if (this.child.exitCode !== null) return resolve();
      this.child.once('exit', () => resolve());
      this.child.kill('SIGTERM');
    });
  }
}

/** Free ports for `count` node slots (a restarted node takes its slot's port again). */
export async function nodePorts(count: number): Promise<number[]> {
  const ports: number[] = [];
  while (ports.length < count) {
    const port = await freePort();
    if (!ports.includes(port)) ports.push(port);
  }
  return ports;
}
