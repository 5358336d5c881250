/**
 * The JSON predict hot path for models the native scorer compiles (tree ensembles and
 * linear models over plain columns, numeric or factor): the already-parsed request body is
 * checked and written straight into the scorer's Float64Array (one row: the scorer's bound
 * input, no Chunk, no per-request closures), scored natively, and the response JSON is
 * written as text from the engine's values with keys and labels encoded once per model.
 * Requests are validated exactly as jsonToChunk validates them (same 4xx messages).
 * Models the native scorer does not take (expression terms such as log(x), offsets given
 * as expressions, other model kinds, ONNX files) keep the generic path.
 */
import { RxError } from '../errors.js';
import { createScorer, outputLayout, type RxScorer } from '../onnx/scorer.js';
import { RequestError } from './request-error.js';

export interface FastPredict {
  readonly scorer: RxScorer;
  /** Scores a parsed JSON body ({rows} or {columns}); returns the response text. Throws RequestError on bad input. */
  json(body: unknown): string;
  close(): void;
}

const MAX_ROWS = 1_000_000;

/** Compiles `model` for the hot path, or returns null when the native scorer does not take it. */
export function compileFastPredict(model: object, modelName: string): FastPredict | null {
  let s: RxScorer;
  try {
    s = createScorer(model);
  } catch (e) {
    // not compilable (formula expressions, other kinds) or no addon: the generic path scores it
    if (e instanceof RxError) return null;
    throw e;
  }
  const inputs = s.inputs;
  const p = inputs.length;
  const names = inputs.map((i) => i.name);
  const levelIndex = inputs.map((i) => (i.type === 'factor' ? new Map((i.levels ?? []).map((l, k) => [l, k])) : null));
  const knownLevels = inputs.map((i) => (i.levels ?? []).slice(0, 20).join(', '));
  const width = s.width;
  const layout = outputLayout(model, width);
  const nOut = layout.names.length;
  const source = Int32Array.from(layout.source);
  // `{"a":` / `,"b":` for the row objects; `"a":[` / `],"b":[` for the columnar response
  const rowKey = layout.names.map((nm, q) => `${q === 0 ? '{' : ','}${JSON.stringify(nm)}:`);
  const colKey = layout.names.map((nm, q) => `${q === 0 ? '' : '],'}${JSON.stringify(nm)}:[`);
  const labelJson = (layout.levels ?? []).map((l) => JSON.stringify(l));
  const head = `{"model":${JSON.stringify(modelName)},"rows":`;
  const input = s.input;
  const one = new Float64Array(width);

  const num = (v: number): string => (Number.isFinite(v) ? String(v) : 'null');
  const cell = (values: Float64Array, off: number, q: number): string => {
    const k = source[q]!;
    return k >= 0 ? num(values[off + k]!) : labelJson[layout.labelOf(values, off)]!;
  };

  /** Validates value v of input j (row i) and returns it as the scorer takes it. */
  const decode = (v: unknown, j: number, i: number): number => {
    if (typeof v === 'number') {
      if (levelIndex[j] === null) return v;
      throw new RequestError(400, `field "${names[j]}" (row ${i}) must be a string level, got number`, names[j]);
    }
    if (v === null || v === undefined) return Number.NaN;
    const idx = levelIndex[j];
    if (idx === null || idx === undefined)
      throw new RequestError(400, `field "${names[j]}" (row ${i}) must be a number or null, got ${typeof v}${typeof v === 'string' ? ` "${v.slice(0, 40)}"` : ''}`, names[j]);
    if (typeof v !== 'string') throw new RequestError(400, `field "${names[j]}" (row ${i}) must be a string level, got ${typeof v}`, names[j]);
    const c = idx.get(v);
    if (c === undefined) throw new RequestError(400, `field "${names[j]}" (row ${i}) has unknown level "${v}"; known: ${knownLevels[j]}`, names[j]);
    return c;
  };

  /** Scores n rows from column-major x (n === 1: x is the bound input). Row-major n x width. */
  const run = (x: Float64Array, n: number): Float64Array => {
    if (n === 1) {
      const r = s.score();
      if (typeof r === 'number') one[0] = r;
      else one.set(r);
      return one;
    }
    return n === 0 ? new Float64Array(0) : s.scoreBatchSync(x, n);
  };

  function fromRows(rows: unknown[]): string {
    const n = rows.length;
    for (let i = 0; i < n; i++) {
      const r = rows[i];
      if (typeof r !== 'object' || r === null || Array.isArray(r)) throw new RequestError(400, `rows[${i}] must be an object`, `rows[${i}]`);
    }
    if (n > MAX_ROWS) throw new RequestError(413, `too many rows in one request (${n})`);
    const x = n === 1 ? input : new Float64Array(n * p);
    for (let j = 0; j < p; j++) {
      const name = names[j]!;
      let at = j * n;
      for (let i = 0; i < n; i++) {
        const rec = rows[i] as Record<string, unknown>;
        const v = rec[name];
        if (v === undefined && !(name in rec)) throw new RequestError(400, `rows[${i}] is missing field "${name}"`, name);
        x[at++] = decode(v, j, i);
      }
    }
    const values = run(x, n);
    let out = `${head}${n},"predictions":[`;
    for (let i = 0; i < n; i++) {
      if (i > 0) out += ',';
      const off = i * width;
      for (let q = 0; q < nOut; q++) out += rowKey[q]! + cell(values, off, q);
      out += '}';
    }
    return `${out}]}`;
  }

  function fromColumns(cols: Record<string, unknown>): string {
    let n = -1;
    for (let j = 0; j < p; j++) {
      const name = names[j]!;
      const c = cols[name];
      if (!Array.isArray(c)) throw new RequestError(400, c === undefined ? `missing column "${name}"` : `column "${name}" must be an array`, name);
      if (n >= 0 && c.length !== n) throw new RequestError(400, `column "${name}" has ${c.length} values, expected ${n}`, name);
      n = c.length;
    }
    n = Math.max(n, 0);
    if (n > MAX_ROWS) throw new RequestError(413, `too many rows in one request (${n})`);
    const x = n === 1 ? input : new Float64Array(n * p);
    for (let j = 0; j < p; j++) {
      const c = cols[names[j]!] as unknown[];
      let at = j * n;
      for (let i = 0; i < n; i++) x[at++] = decode(c[i], j, i);
    }
    const values = run(x, n);
    let out = `${head}${n},"outputs":{`;
    for (let q = 0; q < nOut; q++) {
      out += colKey[q]!;
      for (let i = 0; i < n; i++) {
        if (i > 0) out += ',';
        out += cell(values, i * width, q);
      }
    }
    return `${out}${nOut > 0 ? ']' : ''}}}`;
  }

  return {
    scorer: s,
    json(body: unknown): string {
      if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new RequestError(400, 'body must be a JSON object with "rows" or "columns"');
      const b = body as { rows?: unknown; columns?: unknown };
      if (b.rows !== undefined) {
        if (!Array.isArray(b.rows)) throw new RequestError(400, '"rows" must be an array of objects', 'rows');
        return fromRows(b.rows);
      }
      if (b.columns !== undefined) {
        if (typeof b.columns !== 'object' || b.columns === null || Array.isArray(b.columns)) throw new RequestError(400, '"columns" must be an object of arrays', 'columns');
        return fromColumns(b.columns as Record<string, unknown>);
      }
      throw new RequestError(400, 'body must have "rows" or "columns"');
    },
    close: () => s.dispose(),
  };
}
