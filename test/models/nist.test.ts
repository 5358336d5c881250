import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { rxLinMod } from '../../lib/models/index.js';
import { lre, readCsv } from './helpers.js';

// NIST StRD linear regression (certified values to 15 digits, test/fixtures/models/nist).
// Requirement: LRE >= 9 for coefficients and standard errors on every set, >= 7 on Filip.
const cert = JSON.parse(readFileSync(new URL('../fixtures/models/nist/certified_values.json', import.meta.url), 'utf8'));

const formulas: Record<string, string> = {
  Norris: 'y ~ x',
  Pontius: 'y ~ x + I(x^2)',
  NoInt1: 'y ~ x - 1',
  NoInt2: 'y ~ x - 1',
  Longley: 'y ~ x1 + x2 + x3 + x4 + x5 + x6',
  Filip: 'y ~ x + I(x^2) + I(x^3) + I(x^4) + I(x^5) + I(x^6) + I(x^7) + I(x^8) + I(x^9) + I(x^10)',
  Wampler1: 'y ~ x + I(x^2) + I(x^3) + I(x^4) + I(x^5)',
  Wampler2: 'y ~ x + I(x^2) + I(x^3) + I(x^4) + I(x^5)',
  Wampler3: 'y ~ x + I(x^2) + I(x^3) + I(x^4) + I(x^5)',
  Wampler4: 'y ~ x + I(x^2) + I(x^3) + I(x^4) + I(x^5)',
  Wampler5: 'y ~ x + I(x^2) + I(x^3) + I(x^4) + I(x^5)',
};

describe('NIST StRD linear regression', () => {
  const table: string[] = [];
  for (const [name, formula] of Object.entries(formulas)) {
    it(`${name}: LRE of coefficients and standard errors`, async () => {
      const data = readCsv(`nist/${name}.csv`);
      const m = await rxLinMod(formula, data);
      const params = cert[name].parameters as Array<{ estimate: number; std_error: number }>;
      expect(m.coefficients.length).toBe(params.length);
      let minB = 15;
      let minS = 15;
      params.forEach((p, j) => {
        minB = Math.min(minB, lre(m.coefficients[j]!, p.estimate));
        // Wampler1/NoInt* have exact fits (SE 0): compare absolutely there
        minS = Math.min(minS, p.std_error === 0 ? (Math.abs(m.stdErrors[j]!) < 1e-9 ? 15 : 0) : lre(m.stdErrors[j]!, p.std_error));
      });
      table.push(`${name.padEnd(9)} coef ${minB.toFixed(1)} se ${minS.toFixed(1)} (${m.solver}${m.refinePasses ? ` ${m.refinePasses}` : ""})`);
      // Issue target: LRE >= 9 everywhere and >= 7 on Filip. Filip stays near 8: its data
      // (10-digit decimals and their powers up to x^10) are not representable in double, and
      // that perturbation of X alone moves the solution by ~kappa(X) * eps ~ 1e-8.
      const need = name === 'Filip' ? 7 : 9;
      expect(minB).toBeGreaterThanOrEqual(need);
      expect(minS).toBeGreaterThanOrEqual(need);
    });
  }
  it('refinement passes give the same answer for any rowsPerRead (Wampler5, Filip)', async () => {
    for (const name of ['Wampler5', 'Filip']) {
      const data = readCsv(`nist/${name}.csv`);
      const a = await rxLinMod(formulas[name]!, data);
      const b = await rxLinMod(formulas[name]!, data, { rowsPerRead: 7 });
      expect(a.solver).toBe('refine');
      a.coefficients.forEach((c, j) => {
        expect(Math.abs(b.coefficients[j]! - c) / Math.abs(c)).toBeLessThan(1e-10);
      });
      a.stdErrors.forEach((c, j) => {
        expect(Math.abs(b.stdErrors[j]! - c) / Math.abs(c)).toBeLessThan(1e-10);
      });
    }
  });
  it('prints the LRE table', () => {
    console.log(`NIST LRE (min over parameters):\n${table.join('\n')}`);
  });
});
