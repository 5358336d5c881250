import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export const fixtureDir = join(__dirname, '../fixtures/trees');

/** Minimal CSV reader for the fixtures (no quoted commas): numbers -> number[], else string[] (empty -> null). */
export function readCsv(file: string): Record<string, (number | null)[] | (string | null)[]> {
  const lines = readFileSync(join(fixtureDir, file), 'utf8').trim().split('\n');
  const head = lines[0]!.split(',').map((h) => h.replace(/"/g, ''));
  const rows = lines.slice(1).map((l) => l.split(',').map((v) => v.replace(/"/g, '')));
  const out: Record<string, (number | null)[] | (string | null)[]> = {};
  head.forEach((h, j) => {
    const vals = rows.map((r) => r[j]!);
    const numeric = vals.every((v) => v === '' || !Number.isNaN(Number(v)));
    out[h] = numeric ? vals.map((v) => (v === '' ? null : Number(v))) : vals.map((v) => (v === '' ? null : v));
  });
  return out;
}

/** Area under the ROC curve (ties averaged). */
export function auc(y: ArrayLike<number>, score: ArrayLike<number>): number {
  const idx = Array.from({ length: y.length }, (_, i) => i).sort((a, b) => score[a]! - score[b]!);
  let rank = 0;
  let pos = 0;
  let sumPos = 0;
  for (let i = 0; i < idx.length; ) {
    let j = i;
    while (j < idx.length && score[idx[j]!] === score[idx[i]!]) j++;
    const r = (i + 1 + j) / 2;
    for (let k = i; k < j; k++) if (y[idx[k]!] === 1) {
      sumPos += r;
      pos++;
    }
    rank = j;
    i = j;
  }
  void rank;
  const neg = y.length - pos;
  return (sumPos - (pos * (pos + 1)) / 2) / (pos * neg);
}
