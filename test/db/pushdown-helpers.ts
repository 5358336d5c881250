/**
 * Shared data, cases and comparison for the pushdown parity tests: a few thousand rows
 * with missing values, weights (some missing or negative), string factors with NULLs and
 * an integer column for F(); the summary and model cases run in every context.
 */
import { expect } from 'vitest';
import { RxLocalSeq } from '../../lib/compute/context.js';
import { RxMemoryData } from '../../lib/data/memory.js';
import type { Chunk, DataSource, Schema } from '../../lib/data/types.js';
import type { RxInDuckDb, RxInPostgres } from '../../lib/db/compute.js';
import { rxGlm, rxLinMod, rxLogit } from '../../lib/models/index.js';
import { rxCovCor, rxCrossTabs, rxCube, rxQuantile, rxSummary } from '../../lib/summary/index.js';

export const N = 3000;

/** Deterministic pseudo-random numbers (LCG) so every run uses the same rows. */
function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

export function makeRows(n = N) {
  const r = rng(42);
  const x = new Float64Array(n);
  const y = new Float64Array(n);
  const w = new Float64Array(n);
  const k = new Int32Array(n);
  const b = new Float64Array(n);
  const g: Array<string | null> = [];
  const h: Array<string | null> = [];
  for (let i = 0; i < n; i++) {
    const u = r();
    x[i] = i % 53 === 0 ? Number.NaN : 1000 + 50 * Math.sin(i) + 10 * r();
    k[i] = Math.floor(r() * 6) + 1;
    g.push(i % 41 === 0 ? null : ['north', 'south', 'east', 'west'][Math.floor(r() * 4)]!);
    h.push(i % 67 === 0 ? null : u < 0.5 ? 'lo' : 'hi');
    const gi = g[i] === 'south' ? 1.5 : g[i] === 'east' ? -0.75 : 0;
    y[i] = i % 71 === 0 ? Number.NaN : 3 + 0.02 * (x[i]! - 1000) + gi + 0.5 * k[i]! + r();
    w[i] = i % 97 === 0 ? Number.NaN : i % 89 === 0 ? -1 : 0.5 + 2 * r();
    const eta = -0.5 + 0.04 * (Number.isNaN(x[i]!) ? 0 : x[i]! - 1000) + 0.4 * gi + 0.2 * k[i]!;
    b[i] = r() < 1 / (1 + Math.exp(-eta)) ? 1 : 0;
  }
  return { x, y, w, k, b, g, h };
}

export function memoryData(n = N): DataSource {
  return new RxMemoryData(makeRows(n), { stringsAsFactors: false });
}

/** Deep comparison: numbers to `rel` relative (NaN == NaN), integers in counts exactly via the same rule. */
export function expectClose(a: unknown, b: unknown, rel = 1e-10, path = '$'): void {
  if (typeof a === 'number' && typeof b === 'number') {
    if (Number.isNaN(a) || Number.isNaN(b)) {
      expect(Number.isNaN(a), `${path}: ${a} vs ${b}`).toBe(Number.isNaN(b));
      return;
    }
    if (!Number.isFinite(a) || !Number.isFinite(b)) {
      expect(a, path).toBe(b);
      return;
    }
    const scale = Math.max(Math.abs(a), Math.abs(b), 1e-300);
    expect(Math.abs(a - b) / scale <= rel || Math.abs(a - b) < 1e-9 * rel, `${path}: ${a} vs ${b}`).toBe(true);
    return;
  }
  if (ArrayBuffer.isView(a) && ArrayBuffer.isView(b)) {
    expectClose(Array.from(a as unknown as ArrayLike<number>), Array.from(b as unknown as ArrayLike<number>), rel, path);
    return;
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    expect(a.length, `${path}.length`).toBe(b.length);
    for (const [i, v] of a.entries()) expectClose(v, b[i], rel, `${path}[${i}]`);
    return;
  }
  if (a && b && typeof a === 'object' && typeof b === 'object') {
    const ka = Object.keys(a).filter((k) => typeof (a as Record<string, unknown>)[k] !== 'function');
    for (const k of ka) expectClose((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], rel, `${path}.${k}`);
    return;
  }
  expect(a, path).toEqual(b);
}

/** Writes every chunk of `src` into a fresh table of `sink`. */
export async function load(sink: { open(schema: Schema, o: { overwrite: boolean }): Promise<{ write(c: Chunk): Promise<void>; close(): Promise<void> }> }, src: DataSource): Promise<void> {
  const w = await sink.open(await src.schema(), { overwrite: true });
  for await (const c of src.chunks({ rowsPerRead: 1000 })) await w.write(c);
  await w.close();
}

/** Row i of makeRows() goes to shard i % shards, as an in-memory source. */
export function shardPart(s: number, shards = 3, n = N): DataSource {
  const rows = makeRows(n);
  const sel = <T>(a: ArrayLike<T>) => Array.from(a).filter((_, i) => i % shards === s);
  return new RxMemoryData(
    { x: Float64Array.from(sel(rows.x)), y: Float64Array.from(sel(rows.y)), w: Float64Array.from(sel(rows.w)), k: Int32Array.from(sel(rows.k)), b: Float64Array.from(sel(rows.b)), g: sel(rows.g), h: sel(rows.h) },
    { stringsAsFactors: false },
  );
}

const local = new RxLocalSeq();
type InDb = RxInDuckDb | RxInPostgres;
type Run = (opts: object, d: DataSource) => Promise<unknown>;

/** Summary cases: name -> run. */
export const summaryCases: Array<[string, Run]> = [
  ['summary', (c, d) => rxSummary('~ x + y + g + g:h + x:g + F(k) + y:F(k, 1, 4)', d, c)],
  ['summary weighted', (c, d) => rxSummary('~ x + g + x:g:h', d, { ...c, fweights: 'w' })],
  ['summary byTerm false', (c, d) => rxSummary('~ x + y:g + h', d, { ...c, byTerm: false })],
  ['cube', (c, d) => rxCube('y ~ g:h', d, c)],
  ['cube weighted F', (c, d) => rxCube('x ~ g:F(k)', d, { ...c, fweights: 'w' })],
  ['crosstabs', (c, d) => rxCrossTabs('~ g:h', d, c)],
  ['crosstabs dep', (c, d) => rxCrossTabs('y ~ g:F(k)', d, c)],
  ['covcor', (c, d) => rxCovCor('~ x + y + k', d, c)],
  ['cor weighted', (c, d) => rxCovCor('~ x + y + k', d, { ...c, type: 'Cor', fweights: 'w' })],
  ['quantile', (c, d) => rxQuantile('x', d, { ...c, probs: [0, 0.1, 0.25, 0.5, 0.9, 0.999, 1] })],
];

/**
 * Runs the named summary cases in `ctx` on `data` and locally on `localData`, compares to
 * 1e-10 relative (the database sums in another order and uses Welford / Youngs-Cramer for
 * variances; counts exact) and checks nothing streamed.
 */
export async function summaryParity(ctx: InDb, data: DataSource, localData: DataSource, names: string[]): Promise<void> {
  for (const name of names) {
    const run = summaryCases.find((c) => c[0] === name)?.[1];
    if (!run) throw new Error(`no summary case ${name}`);
    const before = ctx.log.length;
    const got = await run({ computeContext: ctx, reportProgress: 0 }, data);
    const want = await run({ computeContext: local, reportProgress: 0 }, localData);
    expect(ctx.log.slice(before), `${name} must not stream`).toEqual([]);
    const strip = (r: unknown) => JSON.parse(JSON.stringify(r, (k, v) => (k === 'passes' || k === 'dataName' ? undefined : typeof v === 'number' && !Number.isFinite(v) ? String(v) : v)));
    expectClose(strip(got), strip(want), 1e-10, name);
  }
}

const pick = (m: Record<string, unknown>, keys: string[]) => Object.fromEntries(keys.map((k) => [k, m[k]]));
export const LM_FIELDS = ['coefNames', 'coefficients', 'stdErrors', 'tValues', 'aliased', 'rank', 'dfResidual', 'nValidObs', 'nMissingObs', 'sigma', 'rSquared', 'adjRSquared', 'fStatistic', 'rss', 'solver'];
export const GLM_FIELDS = ['coefNames', 'coefficients', 'stdErrors', 'rank', 'nValidObs', 'nMissingObs', 'deviance', 'nullDeviance', 'aic', 'dispersion', 'iterations', 'converged'];
export const pickFields = pick;

/** Model cases: name, result kind, run. */
export const modelCases: Array<[string, 'lm' | 'glm', Run]> = [
  ['lm factors + F()', 'lm', (o, d) => rxLinMod('y ~ I(x - 1000) + g + h + F(k)', d, o)],
  ['lm interaction, weights', 'lm', (o, d) => rxLinMod('y ~ I(x - 1000):h + g*h + log(k)', d, { ...o, pweights: 'w' })],
  ['lm cube', 'lm', (o, d) => rxLinMod('y ~ g + I(x - 1000)', d, { ...o, cube: true })],
  ['lm factor only', 'lm', (o, d) => rxLinMod('y ~ g', d, o)],
  ['lm numeric interaction', 'lm', (o, d) => rxLinMod('y ~ I(x - 1000) * log(k) + h', d, o)],
  ['logit', 'glm', (o, d) => rxLogit('b ~ I(x - 1000) + g + F(k)', d, o)],
  ['gaussian glm, weights', 'glm', (o, d) => rxGlm('y ~ I(x - 1000) + h', d, { ...o, family: 'gaussian', weights: 'w' })],
];

/**
 * Runs the named model cases in `ctx` and locally and compares. The database sums X'WX in
 * another order than the chunked BLAS pass, so coefficients, standard errors and deviances
 * agree to 1e-9 relative (the solve amplifies the 1e-16 summation differences by the
 * condition number, ~1e3 here); counts and iterations exactly.
 */
export async function modelParity(ctx: InDb, data: DataSource, localData: DataSource, names: string[]): Promise<void> {
  for (const name of names) {
    const c = modelCases.find((m) => m[0] === name);
    if (!c) throw new Error(`no model case ${name}`);
    const [, kind, run] = c;
    const before = ctx.log.length;
    const got = (await run({ computeContext: ctx, reportProgress: 0 }, data)) as Record<string, unknown>;
    const want = (await run({ computeContext: local, reportProgress: 0 }, localData)) as Record<string, unknown>;
    expect(ctx.log.slice(before), `${name} must not stream`).toEqual([]);
    const fields = kind === 'lm' ? LM_FIELDS : GLM_FIELDS;
    expectClose(pick(got, fields), pick(want, fields), 1e-9, name);
    if (name === 'lm cube') expectClose(got.countDF, want.countDF, 0, name);
  }
}
