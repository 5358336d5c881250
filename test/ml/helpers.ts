import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readCsv, type Table } from '../onnx/helpers.js';

export const mlFixtureDir = join(__dirname, '../fixtures/ml');

/** The ml fixtures' CSV files, read as the ONNX tests read theirs. */
export function readMlCsv(file: string): Table {
  return readCsv(file, mlFixtureDir);
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
