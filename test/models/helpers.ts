import { readFileSync } from 'node:fs';

/** Reads a small CSV fixture into an object of columns (numbers, or strings -> factors). */
export function readCsv(path: string): Record<string, number[] | string[]> {
  const lines = readFileSync(new URL(`../fixtures/models/${path}`, import.meta.url), 'utf8').trim().split(/\r?\n/);
  const head = lines[0]!.split(',').map((s) => s.replace(/"/g, ''));
  const rows = lines.slice(1).map((l) => l.split(',').map((s) => s.replace(/"/g, '')));
  const out: Record<string, number[] | string[]> = {};
  head.forEach((h, j) => {
    const vals = rows.map((r) => r[j]!);
    const nums = vals.map((v) => (v === 'NA' || v === '' ? Number.NaN : Number(v)));
    out[h] = nums.every((x, i) => !Number.isNaN(x) || vals[i] === 'NA' || vals[i] === '') ? nums : vals;
  });
  return out;
}

/** Log relative error (NIST's LRE), capped at 15. */
export function lre(got: number, want: number): number {
  if (got === want) return 15;
  const e = want === 0 ? Math.abs(got) : Math.abs(got - want) / Math.abs(want);
  return Math.min(15, -Math.log10(e));
}
