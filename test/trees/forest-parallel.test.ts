import { afterAll, describe, expect, it } from 'vitest';
import { RxLocalSeq } from '../../lib/compute/context.js';
import { RxLocalParallel } from '../../lib/compute/parallel.js';
import { concatTrees } from '../../lib/trees/fit.js';
import { rxDForest, rxFastForest, rxPredictTrees } from '../../lib/trees/index.js';

function synth(n: number, seed: number) {
  let s = seed >>> 0;
  const u = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
  const d: { x1: number[]; x2: number[]; g: string[]; y2: string[]; y3: string[]; yr: number[]; st: string[] } = { x1: [], x2: [], g: [], y2: [], y3: [], yr: [], st: [] };
  for (let i = 0; i < n; i++) {
    const a = u() * 4 - 2;
    const b = u() * 4 - 2;
    const g = 'abcde'[Math.floor(u() * 5)]!;
    const f = Math.sin(2 * a) + 0.5 * b + ('ace'.includes(g) ? 0.7 : -0.7);
    d.x1.push(a);
    d.x2.push(b);
    d.g.push(g);
    d.y2.push(u() < 1 / (1 + Math.exp(-2 * f)) ? 'yes' : 'no');
    d.y3.push(f < -0.5 ? 'lo' : f < 0.6 ? 'mid' : 'hi');
    d.yr.push(f + 0.2 * (u() - 0.5));
    d.st.push(u() < 0.3 ? 's1' : 's2');
  }
  return d;
}

const par = new RxLocalParallel({ numWorkers: 2 });
afterAll(async () => {
  await par.close();
});

describe('forests on RxLocalParallel', () => {
  const data = synth(1500, 3);
  it('rxDForest: the same model and OOB error as RxLocalSeq (class, 3 classes, strata, anova)', async () => {
    const cases: [string, Record<string, unknown>][] = [
      ['y2 ~ x1 + x2 + g', { nTree: 7, seed: 5 }],
      ['y3 ~ x1 + x2 + g', { nTree: 6, seed: 2, strata: 'st', importance: true }],
      ['yr ~ x1 + x2 + g', { nTree: 5, seed: 9, replace: false }],
    ];
    for (const [f, o] of cases) {
      const seq = await rxDForest(f, data, { ...o, computeContext: new RxLocalSeq() });
      const p = await rxDForest(f, data, { ...o, computeContext: par });
      expect(JSON.stringify(p)).toBe(JSON.stringify(seq));
      expect((p.extra.oobError as number[]).length).toBe(o.nTree);
    }
  });
  it('rxFastForest: the same model on both contexts; predictions agree', async () => {
    const o = { numTrees: 9, numLeaves: 16, randomSeed: 4 };
    const seq = await rxFastForest('y2 ~ x1 + x2 + g', data, { ...o, computeContext: 'local' });
    const p = await rxFastForest('y2 ~ x1 + x2 + g', data, { ...o, computeContext: par });
    expect(JSON.stringify(p)).toBe(JSON.stringify(seq));
    const a = await rxPredictTrees(seq, data);
    const b = await rxPredictTrees(p, data);
    expect(Array.from(b.Probability as Float64Array)).toEqual(Array.from(a.Probability as Float64Array));
  });
  it('concatTrees shifts node and categorical offsets', async () => {
    const m = await rxDForest('y2 ~ x1 + g', data, { nTree: 4, seed: 1, maxDepth: 3 });
    const t = m.trees;
    const slice = (a: number, b: number) => {
      const n0 = t.nodeOffset[a]!;
      const n1 = t.nodeOffset[b]!;
      const cb0 = Math.min(...Array.from(t.catOffset.slice(n0, n1)).filter((v) => v >= 0), t.catBits.length);
      const cb1 = b < 4 ? Math.min(...Array.from(t.catOffset.slice(n1)).filter((v) => v >= 0), t.catBits.length) : t.catBits.length;
      return {
        K: t.K,
        nodeOffset: Int32Array.from(t.nodeOffset.slice(a, b + 1), (v) => v - n0),
        feature: t.feature.slice(n0, n1),
        threshold: t.threshold.slice(n0, n1),
        splitBin: t.splitBin.slice(n0, n1),
        left: t.left.slice(n0, n1),
        right: t.right.slice(n0, n1),
        defaultLeft: t.defaultLeft.slice(n0, n1),
        catOffset: Int32Array.from(t.catOffset.slice(n0, n1), (v) => (v >= 0 ? v - cb0 : v)),
        catWords: t.catWords.slice(n0, n1),
        catBits: t.catBits.slice(cb0, cb1),
        value: t.value.slice(n0 * t.K, n1 * t.K),
        gain: t.gain.slice(n0, n1),
        cover: t.cover.slice(n0, n1),
        count: t.count.slice(n0, n1),
        treeClass: t.treeClass.slice(a, b),
        treeWeight: t.treeWeight.slice(a, b),
      };
    };
    const back = concatTrees([slice(0, 1), slice(1, 3), slice(3, 4)]);
    expect(JSON.stringify(Object.fromEntries(Object.entries(back).map(([k, v]) => [k, typeof v === 'number' ? v : Array.from(v)])))).toBe(
      JSON.stringify(Object.fromEntries(Object.entries(t).map(([k, v]) => [k, typeof v === 'number' ? v : Array.from(v as ArrayLike<number>)]))),
    );
    expect(t.catBits.length).toBeGreaterThan(0);
  });
});
