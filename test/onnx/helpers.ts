import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';

export const fixtureDir = join(__dirname, '../fixtures/onnx');
export type Table = Record<string, Array<number | null> | Array<string | null>>;

/** Minimal CSV reader for the fixtures (no quoted commas): numeric columns -> numbers, else strings; empty -> null. */
export function readCsv(file: string, dir = fixtureDir): Table {
  const lines = readFileSync(join(dir, file), 'utf8').trim().split(/\r?\n/);
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

export function sliceTable(t: Table, a: number, b: number): Table {
  const o: Table = {};
  for (const [k, v] of Object.entries(t)) o[k] = v.slice(a, b) as Table[string];
  return o;
}

/** Runs an exported model on a table: string inputs get the values (null -> ''), double inputs NaN for null. */
export async function runOnnx(bytes: Uint8Array, data: Table): Promise<Record<string, ort.Tensor>> {
  const session = await ort.InferenceSession.create(bytes);
  const n = Object.values(data)[0]!.length;
  const feeds: Record<string, ort.Tensor> = {};
  for (const name of session.inputNames) {
    const col = data[name];
    if (!col) throw new Error(`test data lacks ONNX input ${name}`);
    if (col.some((v) => typeof v === 'string')) feeds[name] = new ort.Tensor('string', col.map((v) => (v === null ? '' : String(v))), [n, 1]);
    else feeds[name] = new ort.Tensor('float64', Float64Array.from(col as Array<number | null>, (v) => (v === null ? Number.NaN : v)), [n, 1]);
  }
  const out = await session.run(feeds);
  await session.release();
  return out;
}

/** Max abs difference, treating NaN == NaN as equal and NaN vs number as Infinity. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Number.POSITIVE_INFINITY;
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (Number.isNaN(x) && Number.isNaN(y)) continue;
    if (Number.isNaN(x) || Number.isNaN(y)) return Number.POSITIVE_INFINITY;
    m = Math.max(m, Math.abs(x - y));
  }
  return m;
}
