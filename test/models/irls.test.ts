// The fused native IRLS pass of rxLogit (binomial-logit without prior weights) against the
// JavaScript pass used with prior weights: unit weights give the same model, so the two paths
// must agree (1e-10 relative: same formulas, different summation order in X'WX). Also the
// deviance-only pass taken when convergence is predicted keeps R's iteration sequence (the
// R parity tests check the numbers); here an offset and a tight tolerance give the same
// answer on both paths.
import { describe, expect, it } from 'vitest';
import { rxLogit } from '../../lib/models/index.js';

const N = 5000;

function data() {
  let s = 11;
  const rnd = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
  const x1: number[] = [];
  const x2: number[] = [];
  const off: number[] = [];
  const y: number[] = [];
  const one: number[] = [];
  const g: string[] = [];
  for (let i = 0; i < N; i++) {
    x1.push(rnd() * 2 - 1);
    x2.push(rnd() * 4 - 2);
    off.push(rnd() * 0.5);
    g.push(['a', 'b', 'c'][Math.floor(rnd() * 3)]!);
    const eta = -0.2 + 0.9 * x1[i]! - 0.4 * x2[i]! + off[i]! + (g[i] === 'b' ? 0.5 : 0);
    y.push(rnd() < 1 / (1 + Math.exp(-eta)) ? 1 : 0);
    one.push(1);
  }
  return { x1, x2, off, y, one, g };
}

const rel = (a: number, b: number) => Math.abs(a - b) / Math.max(1e-300, Math.abs(b));

describe('rxLogit native IRLS pass', () => {
  for (const formula of ['y ~ x1 + x2 + g', 'y ~ x1 + x2 + g + offset(off)']) {
    it(`agrees with the JavaScript pass (${formula})`, async () => {
      const d = data();
      const fast = await rxLogit(formula, d, { objectiveFunctionTolerance: 1e-12 });
      const slow = await rxLogit(formula, d, { weights: 'one', objectiveFunctionTolerance: 1e-12 });
      expect(fast.iterations).toBe(slow.iterations);
      for (let j = 0; j < fast.coefficients.length; j++) {
        expect(rel(fast.coefficients[j]!, slow.coefficients[j]!)).toBeLessThan(1e-10);
        expect(rel(fast.stdErrors[j]!, slow.stdErrors[j]!)).toBeLessThan(1e-10);
      }
      expect(rel(fast.deviance, slow.deviance)).toBeLessThan(1e-12);
      expect(rel(fast.nullDeviance, slow.nullDeviance)).toBeLessThan(1e-12);
      expect(rel(fast.aic, slow.aic)).toBeLessThan(1e-12);
    });
  }

  it('reports a response that is not 0/1 with its row', async () => {
    const d = data();
    d.y[1234] = 2;
    await expect(rxLogit('y ~ x1', d)).rejects.toMatchObject({ code: 'RX_MODEL', row: 1235 });
  });
});
