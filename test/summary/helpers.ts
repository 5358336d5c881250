import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { RxMemoryData } from '../../lib/data/memory.js';

export const FIX = join(import.meta.dirname, '..', 'fixtures', 'summary');

/** Minimal reader for the fixture CSVs (R write.csv output): quoted fields -> factor, else number; "NA" -> missing. */
export function readCsvColumns(file: string): Record<string, (number | null)[] | (string | null)[]> {
  const lines = readFileSync(join(FIX, file), 'utf8').trim().split(/\r?\n/);
  const split = (l: string) => l.match(/("([^"]|"")*"|[^,]*)(,|$)/g)!.slice(0, -1).map((s) => s.replace(/,$/, ''));
  const header = split(lines[0]!).map((h) => h.replace(/^"|"$/g, ''));
  const rows = lines.slice(1).map(split);
  const out: Record<string, (number | null)[] | (string | null)[]> = {};
  header.forEach((h, j) => {
    const raw = rows.map((r) => r[j] ?? '');
    const quoted = raw.some((v) => v.startsWith('"'));
    out[h] = quoted ? raw.map((v) => (v === 'NA' ? null : v.replace(/^"|"$/g, ''))) : raw.map((v) => (v === 'NA' || v === '' ? null : Number(v)));
  });
  return out;
}

export function csvData(file: string, opts: { rowsPerRead?: number; levels?: Record<string, string[]> } = {}): RxMemoryData {
  const cols = readCsvColumns(file);
  const table: Record<string, any> = {};
  for (const [k, v] of Object.entries(cols)) {
    const lv = opts.levels?.[k];
    if (lv) {
      const idx = new Map(lv.map((l, i) => [l, i]));
      table[k] = { type: 'factor', data: Int32Array.from(v as string[], (s) => idx.get(s)!), levels: lv };
    } else table[k] = v;
  }
  return new RxMemoryData(table, opts.rowsPerRead ? { rowsPerRead: opts.rowsPerRead } : {});
}

/** Log relative error (number of correct significant digits), capped at 15. */
export function lre(x: number, c: number): number {
  if (x === c) return 15;
  const r = c === 0 ? Math.abs(x) : Math.abs(x - c) / Math.abs(c);
  return Math.min(15, -Math.log10(r));
}
