// A full GC for heap assertions: `global.gc` under `node --expose-gc`, else the
// same function obtained by switching the V8 flag on at runtime.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

let cached: (() => void) | null = null;

export function getGc(): () => void {
  if (cached) return cached;
  const exposed = (globalThis as { gc?: () => void }).gc;
  if (typeof exposed === 'function') return (cached = exposed);
  setFlagsFromString('--expose-gc');
  return (cached = runInNewContext('gc') as () => void);
}

/** Heap in use after collecting twice (with a turn in between for finalizers). */
export async function settledHeap(): Promise<number> {
  const gc = getGc();
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((resolve) => setImmediate(resolve));
  }
  return process.memoryUsage().heapUsed;
}
