/**
 * withTransforms(source, opts): a DataSource view that applies, per chunk and in this
 * order: `transforms` (new or overwritten columns, each may use the ones before it),
 * `transformFunc` (a JS function; local-only escape hatch), `rowSelection` (rows where
 * the expression is TRUE are kept; FALSE and NA rows are dropped), then
 * `varsToKeep` / `varsToDrop`.
 *
 * Column rules: the output has the source's columns (restricted by varsToKeep, minus
 * varsToDrop) followed by new transform columns; columns used by transforms or the row
 * selection are read even when not kept. schema() is computed statically from the
 * expressions (no data is read) unless a transformFunc is present, in which case the
 * first rows are read once to learn its output.
 *
 * Factors created with data-dependent levels (factor(x) without levels=) get levels in
 * order of first appearance across chunks (sorted within a chunk), and a later chunk only
 * appends levels, as the Chunk contract requires.
 */
import { RxError } from '../errors.js';
import type { Chunk, ChunkOptions, Column, ColumnInfo, DataSource, Schema } from '../data/types.js';
import { argError } from '../validate.js';
import type { ExprNode } from './ast.js';
import { columnInfoFromType, evalExpr, evalSelection, exprColumns, inferExprType } from './eval.js';
import { parseExpr } from './parse.js';

export interface TransformOptions {
  rowSelection?: string | ExprNode;
  transforms?: Record<string, string | ExprNode>;
  transformFunc?: (chunk: Chunk, objects?: Record<string, unknown>) => Chunk | Promise<Chunk>;
  transformObjects?: Record<string, unknown>;
  varsToKeep?: string[];
  varsToDrop?: string[];
}

function toNode(e: string | ExprNode, what: string): ExprNode {
  if (typeof e === 'string') return parseExpr(e);
  if (typeof e === 'object' && e !== null && typeof (e as ExprNode).type === 'string') return e;
  throw argError('an expression string or AST', what, e);
}

/** Gathers the rows where keep[i] === 1 (typed-array loops). */
export function filterColumn(c: Column, keep: Uint8Array, m: number): Column {
  const n = keep.length;
  let data: Column['data'];
  if (Array.isArray(c.data)) {
    const src = c.data;
    const out = new Array<string | null>(m);
    let k = 0;
    for (let i = 0; i < n; i++) if (keep[i]) out[k++] = src[i]!;
    data = out;
  } else {
    const src = c.data as Float64Array;
    const C = src.constructor as new (n: number) => Float64Array;
    const out = new C(m);
    let k = 0;
    for (let i = 0; i < n; i++) if (keep[i]) out[k++] = src[i]!;
    data = out;
  }
  const col: Column = { type: c.type, data };
  if (c.valid) {
    const v = new Uint8Array(m);
    let k = 0;
    for (let i = 0; i < n; i++) if (keep[i]) v[k++] = c.valid[i]!;
    col.valid = v;
  }
  if (c.levels) col.levels = c.levels;
  if (c.ordered !== undefined) col.ordered = c.ordered;
  return col;
}

/** Keeps factor codes of one output column consistent across chunks (levels only grow). */
class LevelUnifier {
  private levels: string[] = [];
  private index = new Map<string, number>();
  apply(c: Column): Column {
    if (c.type !== 'factor') return c;
    const lv = c.levels ?? [];
    let grew = false;
    const remap = lv.map((l) => {
      let k = this.index.get(l);
      if (k === undefined) {
        k = this.levels.length;
        this.levels.push(l);
        this.index.set(l, k);
        grew = true;
      }
      return k;
    });
    if (grew) this.levels = this.levels.slice();
    const src = c.data as Int32Array;
    const out = new Int32Array(src.length);
    for (let i = 0; i < src.length; i++) out[i] = remap[src[i]!] ?? 0;
    const col: Column = { type: 'factor', data: out, levels: this.levels };
    if (c.valid) col.valid = c.valid;
    if (c.ordered) col.ordered = c.ordered;
    return col;
  }
}

class TransformedSource implements DataSource {
  readonly kind: string;
  private readonly transforms: Array<[string, ExprNode]>;
  private readonly selection: ExprNode | undefined;
  private schemaCache: Promise<Schema> | undefined;

  constructor(
    private readonly base: DataSource,
    private readonly opts: TransformOptions,
  ) {
    this.kind = base.kind;
    const tr = opts.transforms ?? {};
    if (typeof tr !== 'object' || tr === null || Array.isArray(tr)) throw argError('an object of name -> expression', 'transforms', tr);
    this.transforms = Object.entries(tr).map(([k, v]) => [k, toNode(v, `transforms.${k}`)]);
    this.selection = opts.rowSelection !== undefined ? toNode(opts.rowSelection, 'rowSelection') : undefined;
    if (opts.transformFunc !== undefined && typeof opts.transformFunc !== 'function') throw argError('a function', 'transformFunc', opts.transformFunc);
    if (opts.varsToKeep && opts.varsToDrop) throw new RxError('RX_ARG', 'varsToKeep and varsToDrop cannot both be given');
  }

  describe(): string {
    return `${this.base.describe?.() ?? this.base.kind} with transforms`;
  }

  /**
   * How in-database compute contexts see this view (lib/db/compute.ts): the base source
   * plus the transforms and row selection as ASTs, which they compile to SQL. null when a
   * JavaScript transformFunc is involved (it can only run here).
   */
  pushdownView(): { base: DataSource; transforms: Array<[string, ExprNode]>; rowSelection?: ExprNode; objects?: Record<string, unknown> } | null {
    if (this.opts.transformFunc) return null;
    const inner = (this.base as { pushdownView?: () => ReturnType<TransformedSource['pushdownView']> }).pushdownView?.() ?? { base: this.base, transforms: [] };
    if (!inner || inner.rowSelection !== undefined) return inner && inner.rowSelection === undefined ? inner : null;
    const v: { base: DataSource; transforms: Array<[string, ExprNode]>; rowSelection?: ExprNode; objects?: Record<string, unknown> } = {
      base: inner.base,
      transforms: [...inner.transforms, ...this.transforms],
    };
    if (this.selection) v.rowSelection = this.selection;
    if (this.opts.transformObjects) v.objects = this.opts.transformObjects;
    return v;
  }

  async numRows(): Promise<number | undefined> {
    if (this.selection || this.opts.transformFunc) return undefined;
    return this.base.numRows?.();
  }

  /** Base columns, then types of transform outputs in order. */
  private async staticColumns(): Promise<{ base: Schema; all: ColumnInfo[] }> {
    const base = await this.base.schema();
    const cols = base.columns.map((c) => ({ ...c }));
    const env = this.opts.transformObjects ? { objects: this.opts.transformObjects } : {};
    for (const [name, node] of this.transforms) {
      const t = inferExprType(node, { columns: cols }, env);
      const info = columnInfoFromType(name, t);
      const i = cols.findIndex((c) => c.name === name);
      if (i >= 0) cols[i] = info;
      else cols.push(info);
    }
    if (this.selection && !this.opts.transformFunc) {
      const t = inferExprType(this.selection, { columns: cols }, env);
      if (t.type !== 'bool' && t.type !== 'float64') {
        throw new RxError('RX_EXPR', `rowSelection must be logical, but "${(this.selection as { text?: string }).text ?? ''}" gives ${t.type}`);
      }
    }
    return { base, all: cols };
  }

  private outputNames(all: ColumnInfo[], baseNames: Set<string>): string[] {
    let names = all.map((c) => c.name);
    const created = new Set(this.transforms.map(([n]) => n));
    if (this.opts.varsToKeep) {
      const keep = new Set(this.opts.varsToKeep);
      for (const k of keep) if (!names.includes(k)) throw new RxError('RX_SCHEMA', `varsToKeep names unknown column "${k}"`, { column: k });
      names = names.filter((n) => keep.has(n) || (created.has(n) && !baseNames.has(n)));
    }
    if (this.opts.varsToDrop) {
      const drop = new Set(this.opts.varsToDrop);
      for (const k of drop) if (!names.includes(k)) throw new RxError('RX_SCHEMA', `varsToDrop names unknown column "${k}"`, { column: k });
      names = names.filter((n) => !drop.has(n));
    }
    return names;
  }

  schema(): Promise<Schema> {
    if (!this.schemaCache) this.schemaCache = this.computeSchema();
    return this.schemaCache;
  }

  private async computeSchema(): Promise<Schema> {
    const { base, all } = await this.staticColumns();
    const names = this.outputNames(all, new Set(base.columns.map((c) => c.name)));
    let columns: ColumnInfo[];
    if (this.opts.transformFunc) {
      // learn the function's output from the first rows
      let first: Chunk | undefined;
      for await (const ch of this.chunks({ rowsPerRead: 1000, numRows: 1000, keepEmpty: true } as ChunkOptions)) {
        first = ch;
        break;
      }
      const byName = new Map(all.map((c) => [c.name, c]));
      columns = (first?.names ?? names).map((n) => {
        const c = first?.columns[n];
        const known = byName.get(n);
        if (known && (!c || known.type === c.type)) return { ...known };
        const info: ColumnInfo = { name: n, type: c?.type ?? 'float64' };
        if (c?.ordered) info.ordered = true;
        return info;
      });
    } else {
      const byName = new Map(all.map((c) => [c.name, c]));
      columns = names.map((n) => byName.get(n)!);
    }
    const out: Schema = { columns };
    if (!this.selection && !this.opts.transformFunc && base.numRows !== undefined) out.numRows = base.numRows;
    if (base.metadata) out.metadata = base.metadata;
    return out;
  }

  async *chunks(opts: ChunkOptions = {}): AsyncIterable<Chunk> {
    const { base, all } = await this.staticColumns();
    const baseNames = new Set(base.columns.map((c) => c.name));
    const outNames = this.opts.transformFunc ? null : this.outputNames(all, baseNames);
    const wanted = opts.columns ?? outNames ?? this.outputNames(all, baseNames);
    const allNames = new Set(all.map((c) => c.name));
    if (!this.opts.transformFunc) {
      for (const w of wanted) if (!allNames.has(w)) throw new RxError('RX_SCHEMA', `Unknown column "${w}" in ${this.describe()}`, { column: w });
    }
    // which transforms are needed, and which base columns to read
    const objects = this.opts.transformObjects ?? {};
    const needed = new Set<string>(wanted);
    if (this.selection) for (const c of exprColumns(this.selection)) needed.add(c);
    const active: Array<[string, ExprNode]> = [];
    for (let k = this.transforms.length - 1; k >= 0; k--) {
      const [name, node] = this.transforms[k]!;
      if (!needed.has(name) && !this.opts.transformFunc) continue;
      active.unshift([name, node]);
      needed.delete(name);
      for (const c of exprColumns(node)) needed.add(c);
      // an overwritten base column is still read when the expression uses it
    }
    let read: string[];
    if (this.opts.transformFunc) read = base.columns.map((c) => c.name);
    else {
      read = base.columns.map((c) => c.name).filter((n) => needed.has(n));
      for (const [name, node] of active) {
        if (baseNames.has(name) && exprColumns(node).includes(name) && !read.includes(name)) read.push(name);
      }
      for (const w of wanted) if (baseNames.has(w) && !active.some(([n]) => n === w) && !read.includes(w)) read.push(w);
    }
    for (const n of this.opts.transformFunc ? [] : needed) {
      if (!baseNames.has(n) && !Object.hasOwn(objects, n) && !['pi', 'T', 'F'].includes(n)) {
        const known = all.map((c) => c.name);
        throw new RxError('RX_SCHEMA', `Unknown column "${n}" used in transforms or rowSelection (columns: ${known.slice(0, 40).join(', ')})`, { column: n });
      }
    }
    const unifiers = new Map<string, LevelUnifier>();
    const staticLevels = new Map(all.map((c) => [c.name, c.levels]));
    for (const [name] of active) if (all.find((c) => c.name === name)?.type === 'factor' && !staticLevels.get(name)) unifiers.set(name, new LevelUnifier());
    const env = { objects };
    let emitted = 0;
    const keepEmpty = (opts as { keepEmpty?: boolean }).keepEmpty === true;
    const baseOpts: ChunkOptions = { ...opts, columns: read };
    delete (baseOpts as { keepEmpty?: boolean }).keepEmpty;
    for await (const ch of this.base.chunks(baseOpts)) {
      let chunk: Chunk = { numRows: ch.numRows, startRow: ch.startRow, names: [...ch.names], columns: { ...ch.columns } };
      for (const [name, node] of active) {
        let col = evalExpr(node, chunk, env);
        const u = unifiers.get(name);
        if (u) col = u.apply(col);
        if (!(name in chunk.columns)) chunk.names.push(name);
        chunk.columns[name] = col;
      }
      if (this.opts.transformFunc) {
        const r = await this.opts.transformFunc(chunk, this.opts.transformObjects);
        if (!r || typeof r !== 'object' || typeof r.numRows !== 'number' || !r.columns) {
          throw new RxError('RX_ARG', 'transformFunc must return a chunk ({ numRows, names, columns })');
        }
        chunk = { ...r, names: r.names ?? Object.keys(r.columns), startRow: ch.startRow };
      }
      if (this.selection) {
        const keep = evalSelection(this.selection, chunk, env);
        let m = 0;
        for (let i = 0; i < keep.length; i++) m += keep[i]!;
        if (m !== chunk.numRows) {
          const cols: Record<string, Column> = {};
          for (const n of chunk.names) cols[n] = filterColumn(chunk.columns[n]!, keep, m);
          chunk = { numRows: m, startRow: chunk.startRow, names: chunk.names, columns: cols };
        }
      }
      const names = this.opts.transformFunc && !opts.columns ? this.outputNames(chunk.names.map((n) => ({ name: n, type: chunk.columns[n]!.type })), baseNames) : wanted;
      const columns: Record<string, Column> = {};
      for (const n of names) {
        const c = chunk.columns[n];
        if (!c) throw new RxError('RX_SCHEMA', `Column "${n}" is missing after transformFunc`, { column: n });
        columns[n] = c;
      }
      // unfiltered: rows keep their source positions; filtered: positions in the filtered rows
      const filtered = this.selection !== undefined || this.opts.transformFunc !== undefined;
      const out: Chunk = { numRows: chunk.numRows, startRow: filtered ? emitted : ch.startRow, names: [...names], columns };
      emitted += chunk.numRows;
      if (out.numRows > 0 || keepEmpty) yield out;
    }
  }
}

/** Wraps a data source with transforms / rowSelection / transformFunc / varsToKeep / varsToDrop. */
export function withTransforms(source: DataSource, opts: TransformOptions): DataSource {
  if (!opts || (!opts.transforms && opts.rowSelection === undefined && !opts.transformFunc && !opts.varsToKeep && !opts.varsToDrop)) return source;
  return new TransformedSource(source, opts);
}
