import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Table } from '../onnx/helpers.js';

export const mlFixtureDir = join(__dirname, '../fixtures/ml');

/** Minimal CSV reader for the ml fixtures (no quoted commas): numeric columns -> numbers, else strings; empty -> null. */
export function readMlCsv(file: string): Table {
  const lines = readFileSync(join(mlFixtureDir, file), 'utf8').trim().split(/\r?\n/);
  const head = lines[0]!.split(',').map((h) => h.replace(/"/g, ''));
  const rows = lines.slice(1).map((l) => l.split(',').map((v) => v.replace(/"/g, '')));
  const out: Table = {};
  head.forEach((h, j) => {
    const vals = rows.map((r) => r[j]!);
    const numeric = vals.every((v) => v === '' || !Number.isNaN(Number(v)));
    out[h] = numeric ? vals.map((v) => (v === '' ? null : Number(v))) : vals.map((v) => (v === '' ? null : v));
  });
  return out;
}

export function readJson<T>(file: string): T {
  return JSON.parse(readFileSync(join(mlFixtureDir, file), 'utf8')) as T;
}

/** Area under the ROC curve (ties counted half). */
export function auc(score: ArrayLike<number>, label: ArrayLike<number>): number {
  const idx = Array.from({ length: score.length }, (_, i) => i).sort((a, b) => score[a]! - score[b]!);
  let rankSum = 0;
  let nPos = 0;
  for (let i = 0; i < idx.length; ) {
    let j = i;
    while (j + 1 < idx.length && score[idx[j + 1]!] === score[idx[i]!]) j++;
    const r = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++)
      if (label[idx[k]!] === 1) {
        rankSum += r;
        nPos++;
      }
    i = j + 1;
  }
  const nNeg = idx.length - nPos;
  return (rankSum - (nPos * (nPos + 1)) / 2) / (nPos * nNeg);
}
