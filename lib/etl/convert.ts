/**
 * Column conversions for colClasses / colInfo on non-text sources and for rxFactors.
 *
 * Rules (R's as.* semantics):
 *  - number -> integer types truncate toward zero; NaN or out-of-range values become missing.
 *  - string / factor label -> number parses the text (R's as.numeric(as.character(f)));
 *    text that is not a number becomes missing.
 *  - anything -> factor: labels are the text of the values (numbers as R prints them:
 *    1, 2.5); with declared `levels`, values outside them become missing (or `otherLevel`);
 *    without, levels grow in order of first appearance (a later chunk only appends).
 *  - factor -> string gives its labels; `newLevels` renames levels one to one;
 *    rxFactors' `newLevels` as an object merges several old levels into one new level.
 */
import type { Chunk, ChunkOptions, Column, ColumnInfo, ColumnType, DataSource, Schema } from '../data/types.js';
import type { TextColClass, TextColInfo } from '../data/text.js';
import { RxError } from '../errors.js';
import { LevelMap } from './common.js';

export function classToType(c: TextColClass | string, column: string): ColumnType {
  switch (c) {
    case 'numeric':
    case 'float64':
      return 'float64';
    case 'integer':
    case 'int32':
      return 'int32';
    case 'character':
    case 'string':
      return 'string';
    case 'factor':
      return 'factor';
    case 'logical':
    case 'bool':
      return 'bool';
    case 'Date':
    case 'date':
      return 'date';
    case 'POSIXct':
    case 'timestamp':
      return 'timestamp';
    case 'float32':
      return 'float32';
    case 'int16':
      return 'int16';
    case 'uint8':
      return 'uint8';
  }
  throw new RxError('RX_ARG', `Unknown column class "${c}" for column "${column}" (use numeric, integer, character, factor, logical, Date, POSIXct, float32, int16, uint8)`, { column });
}

const MS_PER_DAY = 86_400_000;

/** Text of a value as R prints it (for factor labels made from numbers). */
function numLabel(x: number): string {
  return Number.isInteger(x) ? String(x) : String(x);
}

/** One output column's conversion plan. */
export interface ColumnPlan {
  /** Output column description. */
  info: ColumnInfo;
  /** Source column it is computed from. */
  from: string;
  /** Factor output: fixed levels (values outside -> missing / otherLevel) or growing levels. */
  fixedLevels?: boolean;
  /** Old label -> new label (merging / renaming) applied before level lookup. */
  relabel?: Map<string, string>;
  otherLevel?: string;
}

function isFloatType(t: ColumnType) {
  return t === 'float64' || t === 'float32' || t === 'timestamp';
}

/** Text labels of a source column (null where missing). */
function labelsOf(c: Column): Array<string | null> {
  const n = (c.data as ArrayLike<unknown>).length;
  const out = new Array<string | null>(n);
  for (let i = 0; i < n; i++) {
    if (c.valid && c.valid[i] === 0) {
      out[i] = null;
      continue;
    }
    const v = (c.data as ArrayLike<unknown>)[i];
    if (c.type === 'factor') out[i] = c.levels![v as number] ?? null;
    else if (c.type === 'string') out[i] = (v as string | null) ?? null;
    else if (c.type === 'bool') out[i] = v ? 'TRUE' : 'FALSE';
    else if (c.type === 'date') out[i] = new Date((v as number) * MS_PER_DAY).toISOString().slice(0, 10);
    else if (c.type === 'timestamp') out[i] = Number.isNaN(v as number) ? null : new Date(v as number).toISOString();
    else out[i] = Number.isNaN(v as number) ? null : numLabel(v as number);
  }
  return out;
}

/** Numbers of a source column (NaN where missing or not a number). */
function numbersOf(c: Column): Float64Array {
  const n = (c.data as ArrayLike<unknown>).length;
  const out = new Float64Array(n);
  if (c.type === 'factor' || c.type === 'string') {
    const labels = labelsOf(c);
    for (let i = 0; i < n; i++) {
      const s = labels[i];
      const t = s === null ? '' : s.trim();
      out[i] = t === '' ? Number.NaN : Number(t);
      if (s === 'TRUE') out[i] = 1;
      else if (s === 'FALSE') out[i] = 0;
    }
    return out;
  }
  const d = c.data as Float64Array;
  for (let i = 0; i < n; i++) out[i] = c.valid && c.valid[i] === 0 ? Number.NaN : d[i]!;
  return out;
}

function intRange(t: ColumnType): [number, number] {
  if (t === 'int32' || t === 'date') return [-2147483648, 2147483647];
  if (t === 'int16') return [-32768, 32767];
  if (t === 'uint8') return [0, 255];
  return [0, 1];
}

/** Converts one column per its plan. `levelMap` holds a factor output's (growing) levels. */
export function convertColumn(c: Column, plan: ColumnPlan, levelMap?: LevelMap): Column {
  const to = plan.info.type;
  const n = (c.data as ArrayLike<unknown>).length;
  if (to === 'factor') {
    const lm = levelMap!;
    const codes = new Int32Array(n);
    const valid = new Uint8Array(n).fill(1);
    let anyMissing = false;
    // labels -> codes, via the level list of the source when it is a factor (cheap)
    const apply = (label: string | null, i: number) => {
      let l = label;
      if (l !== null && plan.relabel) l = plan.relabel.get(l) ?? l;
      let code: number | undefined;
      if (l !== null) {
        if (plan.fixedLevels) {
          code = lm.find(l);
          if (code === undefined && plan.otherLevel !== undefined) code = lm.code(plan.otherLevel);
        } else code = lm.code(l);
      }
      if (code === undefined) {
        valid[i] = 0;
        anyMissing = true;
      } else codes[i] = code;
    };
    if (c.type === 'factor') {
      const lv = c.levels ?? [];
      const map = new Int32Array(lv.length).fill(-1);
      const d = c.data as Int32Array;
      for (let i = 0; i < n; i++) {
        if (c.valid && c.valid[i] === 0) {
          valid[i] = 0;
          anyMissing = true;
          continue;
        }
        const k = d[i]!;
        if (map[k] === -1) {
          apply(lv[k] ?? null, i);
          map[k] = valid[i] ? codes[i]! : -2;
        } else if (map[k] === -2) {
          valid[i] = 0;
          anyMissing = true;
        } else codes[i] = map[k]!;
      }
    } else {
      const labels = labelsOf(c);
      if (!plan.fixedLevels && c.type !== 'string') {
        // numbers: levels in numeric order within a chunk (R's factor() sorts)
        const seen = [...new Set(labels.filter((x): x is string => x !== null))];
        seen.sort((a, b) => Number(a) - Number(b));
        for (const s of seen) lm.code(plan.relabel?.get(s) ?? s);
      } else if (!plan.fixedLevels) {
        const seen = [...new Set(labels.filter((x): x is string => x !== null))].sort();
        for (const s of seen) lm.code(plan.relabel?.get(s) ?? s);
      }
      for (let i = 0; i < n; i++) apply(labels[i]!, i);
    }
    const col: Column = { type: 'factor', data: codes, levels: lm.levels };
    if (plan.info.ordered !== undefined) col.ordered = plan.info.ordered;
    if (anyMissing) col.valid = valid;
    return col;
  }
  if (c.type === to) return c;
  if (to === 'string') {
    const labels = labelsOf(c);
    const col: Column = { type: 'string', data: labels };
    if (labels.includes(null)) col.valid = Uint8Array.from(labels, (x) => (x === null ? 0 : 1));
    return col;
  }
  // numeric targets (incl. date/timestamp)
  let nums: Float64Array;
  if (to === 'date' && c.type === 'timestamp') {
    nums = numbersOf(c).map((x) => Math.floor(x / MS_PER_DAY));
  } else if (to === 'timestamp' && c.type === 'date') {
    nums = numbersOf(c).map((x) => x * MS_PER_DAY);
  } else if ((to === 'date' || to === 'timestamp') && (c.type === 'string' || c.type === 'factor')) {
    const labels = labelsOf(c);
    nums = Float64Array.from(labels, (s) => {
      const t = s === null ? Number.NaN : Date.parse(/^\d{4}-\d{2}-\d{2}$/.test(s) ? `${s}T00:00:00Z` : s);
      return to === 'date' ? Math.floor(t / MS_PER_DAY) : t;
    });
  } else nums = numbersOf(c);
  const data = new (to === 'float64' || to === 'timestamp' ? Float64Array : to === 'float32' ? Float32Array : to === 'int32' || to === 'date' ? Int32Array : to === 'int16' ? Int16Array : Uint8Array)(n);
  const valid = new Uint8Array(n).fill(1);
  let anyMissing = false;
  const [lo, hi] = intRange(to);
  for (let i = 0; i < n; i++) {
    let x = nums[i]!;
    if (Number.isNaN(x)) {
      valid[i] = 0;
      anyMissing = true;
      if (isFloatType(to)) data[i] = Number.NaN;
      continue;
    }
    if (!isFloatType(to)) {
      x = to === 'bool' ? (x !== 0 ? 1 : 0) : Math.trunc(x);
      if (x < lo || x > hi) {
        valid[i] = 0;
        anyMissing = true;
        continue;
      }
    }
    data[i] = x;
  }
  const col: Column = { type: to, data };
  if (anyMissing) col.valid = valid;
  return col;
}

/**
 * A source whose columns are converted per plan. Columns without a plan pass through
 * unchanged (same order); planned columns replace their source column or are appended.
 */
export class ConvertedSource implements DataSource {
  readonly kind: string;
  constructor(
    private readonly source: DataSource,
    private readonly plans: ColumnPlan[],
    /** Drop the source columns that planned columns were made from under another name. */
    private readonly replaceSources = false,
  ) {
    this.kind = source.kind;
  }

  describe(): string {
    return this.source.describe?.() ?? this.source.kind;
  }

  async numRows(): Promise<number | undefined> {
    return this.source.numRows?.();
  }

  private async layout(): Promise<{ base: Schema; out: ColumnInfo[]; planOf: Map<string, ColumnPlan> }> {
    const base = await this.source.schema();
    const planOf = new Map(this.plans.map((p) => [p.info.name, p]));
    for (const p of this.plans)
      if (!base.columns.some((c) => c.name === p.from)) throw new RxError('RX_SCHEMA', `Column "${p.from}" is not in ${this.describe()}`, { column: p.from });
    const out: ColumnInfo[] = [];
    const placed = new Set<ColumnPlan>();
    for (const c of base.columns) {
      // a renamed column (replaceSources) takes its source's place
      const p = planOf.get(c.name) ?? (this.replaceSources ? this.plans.find((x) => x.from === c.name && !planOf.has(x.from)) : undefined);
      if (p && !placed.has(p)) {
        out.push(p.info);
        placed.add(p);
      } else if (!p && !(this.replaceSources && this.plans.some((x) => x.from === c.name))) out.push(c);
    }
    for (const p of this.plans) if (!placed.has(p)) out.push(p.info);
    return { base, out, planOf };
  }

  async schema(): Promise<Schema> {
    const { base, out } = await this.layout();
    return { ...base, columns: out };
  }

  async *chunks(opts: ChunkOptions = {}): AsyncIterable<Chunk> {
    const { base, out, planOf } = await this.layout();
    const names = opts.columns ?? out.map((c) => c.name);
    const need = new Set<string>();
    for (const n of names) {
      const p = planOf.get(n);
      if (p) need.add(p.from);
      else if (base.columns.some((c) => c.name === n)) need.add(n);
      else throw new RxError('RX_SCHEMA', `Unknown column "${n}" in ${this.describe()}`, { column: n });
    }
    const read = base.columns.map((c) => c.name).filter((n) => need.has(n));
    const maps = new Map<string, LevelMap>();
    for (const p of this.plans) if (p.info.type === 'factor') maps.set(p.info.name, new LevelMap(p.info.levels ?? []));
    for await (const ch of this.source.chunks({ ...opts, columns: read })) {
      const columns: Record<string, Column> = {};
      for (const n of names) {
        const p = planOf.get(n);
        columns[n] = p ? convertColumn(ch.columns[p.from]!, p, maps.get(n)) : ch.columns[n]!;
        if (p?.info.type === 'factor') p.info.levels = maps.get(n)!.levels;
      }
      yield { numRows: ch.numRows, startRow: ch.startRow, names: [...names], columns };
    }
  }
}

/** Plans for rxImport's colClasses / colInfo applied to a non-text source. */
export function plansFromColInfo(schema: Schema, colClasses: Record<string, TextColClass> = {}, colInfo: Record<string, TextColInfo> = {}): ColumnPlan[] {
  const plans: ColumnPlan[] = [];
  const names = new Set([...Object.keys(colClasses), ...Object.keys(colInfo)]);
  for (const name of names) {
    const src = schema.columns.find((c) => c.name === name);
    if (!src) throw new RxError('RX_SCHEMA', `colClasses/colInfo names column "${name}", which is not in the data`, { column: name });
    const ci = colInfo[name] ?? {};
    const cls = ci.type ?? colClasses[name];
    const type = cls !== undefined ? classToType(cls, name) : ci.levels ? 'factor' : src.type;
    const info: ColumnInfo = { name: ci.newName ?? name, type };
    if (ci.description !== undefined) info.description = ci.description;
    else if (src.description !== undefined) info.description = src.description;
    if (ci.low !== undefined) info.low = ci.low;
    if (ci.high !== undefined) info.high = ci.high;
    const plan: ColumnPlan = { info, from: name };
    if (type === 'factor') {
      if (ci.levels) {
        plan.fixedLevels = true;
        if (ci.newLevels) {
          if (ci.newLevels.length !== ci.levels.length)
            throw new RxError('RX_ARG', `colInfo for "${name}": newLevels has ${ci.newLevels.length} entries but levels has ${ci.levels.length}`, { column: name });
          plan.relabel = new Map(ci.levels.map((l, i) => [l, ci.newLevels![i]!]));
          info.levels = [...new Set(ci.newLevels)];
        } else info.levels = [...ci.levels];
      } else if (src.type === 'factor' && src.levels) info.levels = [...src.levels];
    }
    plans.push(plan);
  }
  return plans;
}
