// The public analyses give the same results in RxLocalSeq and RxLocalParallel (DESIGN.md
// section 3: "Results are identical (to rounding) in every context"). Analyses not (yet)
// exported are skipped.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RxLocalSeq } from '../../lib/compute/context.js';
import { RxLocalParallel } from '../../lib/compute/parallel.js';
import { ensureDist } from './ensure-dist.js';

/** Paths where a and b differ beyond rel (numbers and typed arrays); other leaves must be equal. */
function differences(a: unknown, b: unknown, rel: number, path = '$', out: string[] = []): string[] {
  if (out.length > 5) return out;
  if (typeof a === 'number' && typeof b === 'number') {
    const same = (Number.isNaN(a) && Number.isNaN(b)) || a === b || Math.abs(a - b) <= rel * Math.max(Math.abs(a), Math.abs(b));
    if (!same) out.push(`${path}: ${a} vs ${b}`);
    return out;
  }
  if (ArrayBuffer.isView(a) && ArrayBuffer.isView(b)) return differences(Array.from(a as Float64Array), Array.from(b as Float64Array), rel, path, out);
  if (typeof a === 'function' || typeof b === 'function') return out;
  if (typeof a !== 'object' || a === null || typeof b !== 'object' || b === null) {
    if (a !== b) out.push(`${path}: ${String(a)} vs ${String(b)}`);
    return out;
  }
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const k of keys) differences((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], rel, `${path}.${k}`, out);
  return out;
}

const n = 20_000;
const x = new Float64Array(n);
const y = new Float64Array(n);
const g: string[] = [];
for (let i = 0; i < n; i++) {
  x[i] = Math.sin(i) * 5 + 3;
  y[i] = 2 * x[i]! + Math.cos(i * 7);
  g.push(['a', 'b', 'c'][i % 3]!);
}
const data = { x, y, g };
// [exported name, arguments]: every analysis reads `data` with a formula.
const cases: Array<[string, unknown[]]> = [
  ['rxSummary', ['~ x + y + g', data]],
  ['rxCovCor', ['~ x + y', data]],
  ['rxCrossTabs', ['~ g', data]],
  ['rxLinMod', ['y ~ x + g', data]],
];

let rx: Record<string, unknown>;
let par: RxLocalParallel;
beforeAll(async () => {
  ensureDist(['lib']); // workers import the compiled analyses from dist/: all of lib must be current
  rx = (await import('../../lib/index.js')) as Record<string, unknown>;
  par = new RxLocalParallel({ numWorkers: 2 });
});
afterAll(async () => {
  await par?.close();
});

describe('RxLocalSeq and RxLocalParallel agree on the public analyses', () => {
  for (const [name, args] of cases) {
    it(name, async () => {
      const f = rx[name];
      expect(typeof f, `${name} is exported by lib/index.ts`).toBe('function');
      const a = await f(...args, { computeContext: new RxLocalSeq(), rowsPerRead: 3000, reportProgress: 0 });
      const b = await f(...args, { computeContext: par, rowsPerRead: 1700, reportProgress: 0 });
      // Different chunkings and merge orders change only rounding: 1e-9 relative leaves
      // room for the conditioning of a small regression (errors here are ~1e-13).
      expect(differences(a, b, 1e-9)).toEqual([]);
    });
  }
});
