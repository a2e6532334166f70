// The options of rxwire/cluster fail fast, naming the option.
import { ErrorCode, RxwireTypeError } from '../../src/protocol/index.js';
import { memoryCluster, MemoryHub } from '../../cluster/index.js';
import { deriveResumeKey, secretBytes } from '../../cluster/options.js';
import { ServerCore } from '../../server/core.js';

const invalid = (pattern: RegExp) =>
  expect.objectContaining({
    code: ErrorCode.InvalidOption,
    message: expect.stringMatching(pattern),
  });

it('refuses a missing or short secret, naming `secret`', () => {
  expect(() => secretBytes(undefined)).toThrow(RxwireTypeError);
  expect(() => secretBytes(undefined)).toThrow(invalid(/`secret` is required/));
  expect(() => secretBytes('too short')).toThrow(
    invalid(/`secret` must be at least 32 bytes \(got 9\)/),
  );
  expect(() => secretBytes(new Uint8Array(31))).toThrow(invalid(/secret/));
  expect(secretBytes('x'.repeat(32))).toHaveLength(32);
  expect(() => memoryCluster({ hub: new MemoryHub(), secret: 'short' })).toThrow(invalid(/secret/));
});

it('derives one resume key from the secret on every node, never the secret itself', () => {
  const secret = secretBytes('a shared secret of at least 32 bytes!');
  expect(deriveResumeKey(secret)).toEqual(deriveResumeKey(secret));
  expect(Buffer.from(deriveResumeKey(secret))).not.toEqual(Buffer.from(secret.subarray(0, 32)));
  expect(deriveResumeKey(secretBytes('another shared secret of 32 bytes!!'))).not.toEqual(
    deriveResumeKey(secret),
  );
});

it('checks the other options', () => {
  const hub = new MemoryHub();
  expect(() => memoryCluster({ hub: {} as never })).toThrow(invalid(/`hub` must be a MemoryHub/));
  expect(() => memoryCluster({ hub, nodeId: 'has space' })).toThrow(invalid(/`nodeId`/));
  expect(() => memoryCluster({ hub, nodeId: 'x'.repeat(65) })).toThrow(invalid(/`nodeId`/));
  expect(() => memoryCluster({ hub, nodeTtl: 0 })).toThrow(invalid(/`nodeTtl`/));
  expect(() => memoryCluster({ hub, handoverTimeout: Number.NaN })).toThrow(
    invalid(/`handoverTimeout`/),
  );
  expect(() => memoryCluster({ hub, sendTimeout: -1 })).toThrow(invalid(/`sendTimeout`/));
  expect(() => memoryCluster({ hub, broadcastHistory: 0 })).toThrow(invalid(/`broadcastHistory`/));
  expect(() => new ServerCore({ cluster: {} as never })).toThrow(
    invalid(/`cluster` must be made by/),
  );
});

it('serves one server: a second server with the same cluster object is refused', async () => {
  const cluster = memoryCluster({ hub: new MemoryHub(), nodeId: 'one' });
  const core = new ServerCore({ cluster, heartbeat: false });
  expect(core.nodeId).toBe('one');
  expect(() => new ServerCore({ cluster })).toThrow(invalid(/one server/));
  await core.shutdown();
});
