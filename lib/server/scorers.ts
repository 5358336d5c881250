/**
 * Scorers: a uniform "columns in -> columns out" view over the models the server can load:
 * rxscale serialized models (*.rxm, via the model-kind registry) and ONNX models (*.onnx,
 * via onnxruntime-node). Input validation turns request values into a Chunk and names
 * the offending field on failure.
 */
import { readFile } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import type { Chunk, Column, ColumnInfo } from '../data/types.js';
import { RxError } from '../errors.js';
import { getModelKind, type RxModel, type ScoreColumns } from '../scoring/registry.js';
import { rxUnserializeModel } from '../scoring/serialize.js';
import { compileFastPredict, type FastPredict } from './fast.js';
import { RequestError } from './request-error.js';

export { RequestError };

export interface Scorer {
  name: string;
  /** 'rxscale:<kind>' or 'onnx'. */
  kind: string;
  file: string;
  inputs: ColumnInfo[];
  outputs?: string[];
  loadedAt: string;
  score(chunk: Chunk): Promise<ScoreColumns>;
  /** JSON hot path (native scorer), when the model compiles to one. */
  fast?: FastPredict;
  close?(): Promise<void>;
}

export const MODEL_EXTENSIONS = ['.rxm', '.onnx'] as const;
export const MODEL_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

export function modelNameOf(file: string): string {
  return basename(file, extname(file));
}

export async function loadScorer(file: string): Promise<Scorer> {
  const ext = extname(file);
  const name = modelNameOf(file);
  if (ext === '.rxm') {
    const model = rxUnserializeModel<RxModel>(await readFile(file));
    const kind = getModelKind(model.modelKind);
    if (!kind.score || !kind.inputs) throw new RxError('RX_MODEL', `Model kind ${model.modelKind} cannot be scored by the server`, { file });
    const inputs = kind.inputs(model);
    const score = kind.score;
    const s: Scorer = { name, kind: `rxscale:${model.modelKind}`, file, inputs, loadedAt: new Date().toISOString(), score: async (chunk) => score(model, chunk) };
    const fast = compileFastPredict(model, name);
    if (fast) {
      s.fast = fast;
      s.close = async () => fast.close();
    }
    return s;
  }
  if (ext === '.onnx') return loadOnnxScorer(file, name);
  throw new RxError('RX_ARG', `Unsupported model file extension ${ext} (expected .rxm or .onnx)`, { file });
}

async function loadOnnxScorer(file: string, name: string): Promise<Scorer> {
  const ort = await import('onnxruntime-node');
  let session: Awaited<ReturnType<typeof ort.InferenceSession.create>>;
  try {
    session = await ort.InferenceSession.create(await readFile(file));
  } catch (e) {
    throw new RxError('RX_MODEL', `ONNX model ${file} does not load: ${(e as Error).message}`, { file, cause: e });
  }
  const meta = session.inputMetadata as unknown as Array<{ name: string; isTensor: boolean; type?: string; shape?: unknown[] }>;
  const inputs: ColumnInfo[] = session.inputNames.map((n, i) => {
    const m = Array.isArray(meta) ? meta[i] : undefined;
    const t = m?.type ?? 'float32';
    return { name: n, type: t === 'string' ? 'string' : t === 'float64' || t === 'double' ? 'float64' : 'float32' };
  });
  return {
    name,
    kind: 'onnx',
    file,
    inputs,
    outputs: [...session.outputNames],
    loadedAt: new Date().toISOString(),
    async score(chunk) {
      const feeds: Record<string, InstanceType<typeof ort.Tensor>> = {};
      for (const info of inputs) {
        const col = chunk.columns[info.name]!;
        const n = chunk.numRows;
        if (info.type === 'string') {
          const data = col.type === 'factor' ? Array.from(col.data as Int32Array, (c) => col.levels![c] ?? '') : (col.data as Array<string | null>).map((s) => s ?? '');
          feeds[info.name] = new ort.Tensor('string', data, [n, 1]);
        } else if (info.type === 'float64') {
          feeds[info.name] = new ort.Tensor('float64', Float64Array.from(col.data as Float64Array), [n, 1]);
        } else {
          feeds[info.name] = new ort.Tensor('float32', Float32Array.from(col.data as Float64Array), [n, 1]);
        }
      }
      const out = await session.run(feeds);
      const result: ScoreColumns = {};
      for (const k of session.outputNames) {
        const t = out[k]!;
        const d = t.data as unknown;
        const dims = t.dims;
        const width = dims.length === 2 ? Number(dims[1]) : 1;
        if (width > 1 && ArrayBuffer.isView(d)) {
          for (let j = 0; j < width; j++) {
            const col = new Float64Array(chunk.numRows);
            for (let i = 0; i < chunk.numRows; i++) col[i] = Number((d as Float32Array)[i * width + j]);
            result[`${k}_${j}`] = col;
          }
        } else if (d instanceof BigInt64Array) result[k] = Float64Array.from(d, (x) => Number(x));
        else if (ArrayBuffer.isView(d)) result[k] = Float64Array.from(d as Float32Array);
        else result[k] = (d as string[]).map(String);
      }
      return result;
    },
    async close() {
      await session.release();
    },
  };
}

/**
 * Turns JSON request data - `{ rows: [{...}] }` or `{ columns: { name: [...] } }` - into a Chunk
 * typed by the scorer's inputs. Numbers must be JSON numbers (or null for missing); factor
 * and string inputs must be strings; unknown factor levels are rejected.
 */
export function jsonToChunk(body: unknown, inputs: ColumnInfo[]): Chunk {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new RequestError(400, 'body must be a JSON object with "rows" or "columns"');
  const b = body as { rows?: unknown; columns?: unknown };
  let get: (name: string) => unknown[];
  let n: number;
  if (b.rows !== undefined) {
    if (!Array.isArray(b.rows)) throw new RequestError(400, '"rows" must be an array of objects', 'rows');
    const rows = b.rows as unknown[];
    rows.forEach((r, i) => {
      if (typeof r !== 'object' || r === null || Array.isArray(r)) throw new RequestError(400, `rows[${i}] must be an object`, `rows[${i}]`);
    });
    n = rows.length;
    get = (name) =>
      rows.map((r, i) => {
        const rec = r as Record<string, unknown>;
        if (!(name in rec)) throw new RequestError(400, `rows[${i}] is missing field "${name}"`, name);
        return rec[name];
      });
  } else if (b.columns !== undefined) {
    if (typeof b.columns !== 'object' || b.columns === null || Array.isArray(b.columns)) throw new RequestError(400, '"columns" must be an object of arrays', 'columns');
    const cols = b.columns as Record<string, unknown>;
    n = -1;
    for (const info of inputs) {
      const c = cols[info.name];
      if (!Array.isArray(c)) throw new RequestError(400, c === undefined ? `missing column "${info.name}"` : `column "${info.name}" must be an array`, info.name);
      if (n >= 0 && c.length !== n) throw new RequestError(400, `column "${info.name}" has ${c.length} values, expected ${n}`, info.name);
      n = c.length;
    }
    n = Math.max(n, 0);
    get = (name) => cols[name] as unknown[];
  } else throw new RequestError(400, 'body must have "rows" or "columns"');
  if (n > 1_000_000) throw new RequestError(413, `too many rows in one request (${n})`);
  const columns: Record<string, Column> = {};
  for (const info of inputs) columns[info.name] = toInputColumn(info, get(info.name), n);
  return { numRows: n, startRow: 0, names: inputs.map((i) => i.name), columns };
}

function toInputColumn(info: ColumnInfo, values: unknown[], n: number): Column {
  const name = info.name;
  if (info.type === 'factor' || info.type === 'string') {
    const levels = info.levels;
    const index = levels ? new Map(levels.map((l, i) => [l, i])) : undefined;
    const valid = new Uint8Array(n);
    if (index) {
      const codes = new Int32Array(n);
      for (let i = 0; i < n; i++) {
        const v = values[i];
        if (v === null || v === undefined) continue;
        if (typeof v !== 'string') throw new RequestError(400, `field "${name}" (row ${i}) must be a string level, got ${typeof v}`, name);
        const c = index.get(v);
        if (c === undefined) throw new RequestError(400, `field "${name}" (row ${i}) has unknown level "${v}"; known: ${levels!.slice(0, 20).join(', ')}`, name);
        codes[i] = c;
        valid[i] = 1;
      }
      return { type: 'factor', data: codes, levels: levels!, valid };
    }
    const data: Array<string | null> = new Array(n);
    for (let i = 0; i < n; i++) {
      const v = values[i];
      if (v === null || v === undefined) data[i] = null;
      else if (typeof v !== 'string') throw new RequestError(400, `field "${name}" (row ${i}) must be a string, got ${typeof v}`, name);
      else {
        data[i] = v;
        valid[i] = 1;
      }
    }
    return { type: 'string', data, valid };
  }
  const data = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (v === null || v === undefined) data[i] = Number.NaN;
    else if (typeof v === 'number') data[i] = v;
    else if (typeof v === 'boolean' && info.type === 'bool') data[i] = v ? 1 : 0;
    else throw new RequestError(400, `field "${name}" (row ${i}) must be a number or null, got ${typeof v}${typeof v === 'string' ? ` "${String(v).slice(0, 40)}"` : ''}`, name);
  }
  return { type: 'float64', data };
}
