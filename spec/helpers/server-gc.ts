// A full GC for heap assertions: `global.gc` under `node --expose-gc`, else the
// same function obtained by switching the V8 flag on at runtime.
import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';
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

/** The heap after {@link settledHeap}, and how much of it is compiled code. */
export interface HeapFigures {
  /** `heapUsed`, in bytes. */
  used: number;
  /** Of it, compiled code (V8's code spaces), which grows as the JIT optimizes, not with what a program holds. */
  code: number;
}

/** Heap in use after collecting, with the part that is compiled code. */
export async function settledHeapFigures(): Promise<HeapFigures> {
  const used = await settledHeap();
  let code = 0;
  for (const space of getHeapSpaceStatistics()) {
    if (space.space_name.startsWith('code_')) code += space.space_used_size;
  }
  return { used, code };
}
