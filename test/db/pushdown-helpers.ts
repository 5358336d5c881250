/**
 * Shared data and comparison for the pushdown parity tests: a few thousand rows with
 * missing values, weights (some missing or negative), string factors with NULLs and an
 * integer column for F().
 */
import { expect } from 'vitest';
import { RxMemoryData } from '../../lib/data/memory.js';
import type { DataSource } from '../../lib/data/types.js';

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
