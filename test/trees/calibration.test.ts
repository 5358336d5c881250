import { describe, expect, it } from 'vitest';
import { plattFit } from '../../lib/trees/fit.js';
import { rxFastTrees, rxPredictTrees } from '../../lib/trees/index.js';

function lcg(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

/** Platt's smoothed negative log-likelihood (the objective plattFit minimises). */
function plattLoss(s: number[], y: number[], a: number, b: number): number {
  const n1 = y.filter((v) => v === 1).length;
  const n0 = y.length - n1;
  let f = 0;
  for (let i = 0; i < s.length; i++) {
    const t = y[i] === 1 ? (n1 + 1) / (n1 + 2) : 1 / (n0 + 2);
    const p = 1 / (1 + Math.exp(a * s[i]! + b));
    f -= t * Math.log(p) + (1 - t) * Math.log(1 - p);
  }
  return f;
}

describe('Platt calibration', () => {
  it('plattFit finds the minimum of the smoothed likelihood and recovers the generating a, b', () => {
    const u = lcg(11);
    const s: number[] = [];
    const y: number[] = [];
    const a0 = -1.5;
    const b0 = 0.3;
    for (let i = 0; i < 50000; i++) {
      const v = (u() - 0.5) * 6;
      s.push(v);
      y.push(u() < 1 / (1 + Math.exp(a0 * v + b0)) ? 1 : 0);
    }
    const w = new Float64Array(s.length).fill(1);
    const c = plattFit(s, y, w);
    // statistical error of the MLE at n = 50,000 is about 0.02 for a and b
    expect(c.a).toBeCloseTo(a0, 1);
    expect(c.b).toBeCloseTo(b0, 1);
    // a minimum: every small step in a or b increases the objective
    const f = plattLoss(s, y, c.a, c.b);
    for (const [da, db] of [[1e-3, 0], [-1e-3, 0], [0, 1e-3], [0, -1e-3]] as const) expect(plattLoss(s, y, c.a + da, c.b + db)).toBeGreaterThan(f);
  });

  it('zero weights drop rows; integer weights equal repeated rows', () => {
    const s = [-2, -1, -0.5, 0, 0.3, 1, 1.5, 2, 2.5, -1.5];
    const y = [0, 0, 1, 0, 1, 1, 0, 1, 1, 0];
    const w = [1, 2, 1, 0, 1, 1, 3, 1, 1, 1];
    const rs: number[] = [];
    const ry: number[] = [];
    s.forEach((v, i) => {
      for (let k = 0; k < w[i]!; k++) {
        rs.push(v);
        ry.push(y[i]!);
      }
    });
    const a = plattFit(s, y, w);
    const b = plattFit(rs, ry, new Float64Array(rs.length).fill(1));
    expect(a.a).toBeCloseTo(b.a, 8);
    expect(a.b).toBeCloseTo(b.b, 8);
  });

  it('rxFastTrees binary: Probability is Platt-calibrated on the training scores', async () => {
    const u = lcg(5);
    const n = 4000;
    const d: Record<string, number[]> = { x1: [], x2: [], y: [] };
    for (let i = 0; i < n; i++) {
      const a = u() * 4 - 2;
      const b = u() * 4 - 2;
      d.x1!.push(a);
      d.x2!.push(b);
      d.y!.push(u() < 1 / (1 + Math.exp(-(Math.sin(2 * a) + b))) ? 1 : 0);
    }
    const m = await rxFastTrees('y ~ x1 + x2', d, { numTrees: 30, numLeaves: 8, learningRate: 0.3, exampleFraction: 1, randomSeed: 1 });
    const cal = m.extra.calibration as { method: string; a: number; b: number };
    expect(cal.method).toBe('platt');
    expect(cal.a).toBeLessThan(0);
    const p = await rxPredictTrees(m, d);
    const prob = p.Probability as Float64Array;
    const score = p.Score as Float64Array;
    // the likelihood equations of Platt's fit hold on the training data:
    // sum(p) = sum(t) and sum(raw * p) = sum(raw * t), raw the uncalibrated score
    const n1 = d.y!.filter((v) => v === 1).length;
    const n0 = n - n1;
    let sp = 0;
    let st = 0;
    let ssp = 0;
    let sst = 0;
    for (let i = 0; i < n; i++) {
      const t = d.y![i] === 1 ? (n1 + 1) / (n1 + 2) : 1 / (n0 + 2);
      const raw = (score[i]! + cal.b) / -cal.a;
      expect(prob[i]).toBeCloseTo(1 / (1 + Math.exp(cal.a * raw + cal.b)), 10);
      sp += prob[i]!;
      st += t;
      ssp += raw * prob[i]!;
      sst += raw * t;
    }
    expect(Math.abs(sp - st) / n).toBeLessThan(1e-6);
    expect(Math.abs(ssp - sst) / n).toBeLessThan(1e-6);
  });

  it('rxFastTrees regression is not calibrated', async () => {
    const d = { x: Array.from({ length: 200 }, (_, i) => i), y: Array.from({ length: 200 }, (_, i) => Math.sin(i / 20)) };
    const m = await rxFastTrees('y ~ x', d, { method: 'regression', numTrees: 5 });
    expect(m.extra.calibration).toBeUndefined();
  });
});
