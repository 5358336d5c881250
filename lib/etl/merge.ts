/**
 * rxMerge: joins two data sets on key columns with bounded memory.
 *
 * Both inputs are sorted by the keys (rxSort's external sort into temporary xdf files;
 * factors compare by label so two sources with different level orders agree), then one
 * streaming pass walks both sorted streams. Only the rows of the current key group of the
 * second input are held in memory. Types: 'inner', 'left', 'right', 'full' (alias
 * 'outer'), and 'oneToOne' (rows paired by position; both inputs need the same row
 * count). Output columns: the keys (once), the first input's other columns, then the
 * second's; a non-key name present in both gets `.1` / `.2` (duplicateVarExt) appended.
 * Keys of different numeric types merge as float64; a string key meeting a factor key
 * gives a string key. Missing keys never match (SQL semantics), but unmatched rows are
 * still kept by outer joins.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RxMemoryData } from '../data/memory.js';
import type { Chunk, Column, ColumnInfo, ColumnType, DataSource } from '../data/types.js';
import { RxXdfData } from '../data/xdf.js';
import { RxError } from '../errors.js';
import { withTransforms } from '../expr/source.js';
import { rxOptions } from '../options.js';
import { argError, expectOneOf } from '../validate.js';
import { ChunkBuilder, MemorySink, checkVars, progressFor, resolveInput, resolveOutput } from './common.js';
import type { InData, OutFile } from './import.js';
import { type KeySpec, type RunCursor, advance, compareKeys, externalSort } from './sort.js';

export type MergeType = 'inner' | 'left' | 'right' | 'full' | 'outer' | 'oneToOne';

export interface RxMergeOptions {
  inData1: InData;
  inData2: InData;
  outFile?: OutFile;
  matchVars?: string[];
  type?: MergeType;
  /** Sort the inputs first (default true); false when both are already sorted by the keys. */
  autoSort?: boolean;
  duplicateVarExt?: [string, string];
  varsToKeep1?: string[];
  varsToDrop1?: string[];
  varsToKeep2?: string[];
  varsToDrop2?: string[];
  overwrite?: boolean;
  rowsPerRead?: number;
  reportProgress?: 0 | 1 | 2 | 3;
}

const NUMERIC: ColumnType[] = ['float64', 'float32', 'int32', 'int16', 'uint8', 'bool', 'date', 'timestamp'];

function keyOutType(a: ColumnInfo, b: ColumnInfo): ColumnType {
  if (a.type === b.type) return a.type;
  const an = NUMERIC.includes(a.type);
  const bn = NUMERIC.includes(b.type);
  if (an && bn) return 'float64';
  if (!an && !bn) return 'string';
  throw new RxError('RX_SCHEMA', `Key "${a.name}" is ${a.type} in inData1 but ${b.type} in inData2; they cannot be matched`, { column: a.name });
}

function cursorOf(src: DataSource, rows: number): RunCursor {
  return { it: src.chunks({ rowsPerRead: rows })[Symbol.asyncIterator](), pos: 0, cols: [] };
}

function hasMissingKey(view: RunCursor['view'], i: number): boolean {
  for (const a of view!.nums) if (a && Number.isNaN(a[i]!)) return true;
  for (const a of view!.strs) if (a && a[i] === null) return true;
  return false;
}

export async function rxMerge(opts: RxMergeOptions): Promise<RxMemoryData | DataSource> {
  if (typeof opts !== 'object' || opts === null) throw argError('an options object', 'rxMerge', opts);
  const type = expectOneOf(opts.type ?? 'inner', ['inner', 'left', 'right', 'full', 'outer', 'oneToOne'] as const, 'type');
  let a = resolveInput(opts.inData1, 'inData1');
  let b = resolveInput(opts.inData2, 'inData2');
  const sa0 = await a.schema();
  const sb0 = await b.schema();
  checkVars(sa0, opts.varsToKeep1, 'varsToKeep1', 'inData1');
  checkVars(sa0, opts.varsToDrop1, 'varsToDrop1', 'inData1');
  checkVars(sb0, opts.varsToKeep2, 'varsToKeep2', 'inData2');
  checkVars(sb0, opts.varsToDrop2, 'varsToDrop2', 'inData2');
  const keys = type === 'oneToOne' ? [] : (opts.matchVars ?? []);
  if (type !== 'oneToOne') {
    if (!Array.isArray(keys) || keys.length === 0) throw argError('a non-empty array of key column names', 'matchVars', opts.matchVars);
    checkVars(sa0, keys, 'matchVars', 'inData1');
    checkVars(sb0, keys, 'matchVars', 'inData2');
  }
  const keepKeys = (k?: string[]) => (k ? [...new Set([...keys, ...k])] : undefined);
  const t1 = { ...(opts.varsToKeep1 ? { varsToKeep: keepKeys(opts.varsToKeep1)! } : {}), ...(opts.varsToDrop1 ? { varsToDrop: opts.varsToDrop1.filter((v) => !keys.includes(v)) } : {}) };
  const t2 = { ...(opts.varsToKeep2 ? { varsToKeep: keepKeys(opts.varsToKeep2)! } : {}), ...(opts.varsToDrop2 ? { varsToDrop: opts.varsToDrop2.filter((v) => !keys.includes(v)) } : {}) };
  a = withTransforms(a, t1);
  b = withTransforms(b, t2);
  const sa = await a.schema();
  const sb = await b.schema();
  const [ext1, ext2] = opts.duplicateVarExt ?? ['1', '2'];
  // output layout
  const out: ColumnInfo[] = [];
  const fromA: Array<number> = []; // index into sa.columns or -1
  const fromB: Array<number> = [];
  for (const k of keys) {
    const ia = sa.columns.findIndex((c) => c.name === k);
    const ib = sb.columns.findIndex((c) => c.name === k);
    const t = keyOutType(sa.columns[ia]!, sb.columns[ib]!);
    const info: ColumnInfo = { ...sa.columns[ia]!, type: t };
    if (t !== 'factor') {
      delete info.levels;
      delete info.ordered;
    }
    out.push(info);
    fromA.push(ia);
    fromB.push(ib);
  }
  const nonKeyA = sa.columns.filter((c) => !keys.includes(c.name));
  const nonKeyB = sb.columns.filter((c) => !keys.includes(c.name));
  const namesB = new Set(nonKeyB.map((c) => c.name));
  const namesA = new Set(nonKeyA.map((c) => c.name));
  for (const c of nonKeyA) {
    out.push({ ...c, name: namesB.has(c.name) ? `${c.name}.${ext1}` : c.name });
    fromA.push(sa.columns.indexOf(c));
    fromB.push(-1);
  }
  for (const c of nonKeyB) {
    out.push({ ...c, name: namesA.has(c.name) ? `${c.name}.${ext2}` : c.name });
    fromA.push(-1);
    fromB.push(sb.columns.indexOf(c));
  }
  const rows = opts.rowsPerRead ?? rxOptions().rowsPerRead;
  const sink = resolveOutput(opts.outFile);
  const mem = sink ? undefined : new MemorySink();
  const writer = await (sink ?? mem!).open({ columns: out }, { overwrite: opts.overwrite ?? false });
  const progress = progressFor(opts.reportProgress, 'rxMerge');
  const builder = new ChunkBuilder(out, rows);
  const namesAOrder = sa.columns.map((c) => c.name);
  const namesBOrder = sb.columns.map((c) => c.name);
  const src: Array<Column | undefined> = new Array(out.length);
  const idx: number[] = new Array(out.length).fill(0);
  const emit = async (ca: RunCursor | undefined, ia: number, cb: { cols: Array<Column | undefined> } | undefined, ib: number) => {
    for (let j = 0; j < out.length; j++) {
      if (fromA[j]! >= 0 && ca) {
        src[j] = ca.cols[fromA[j]!];
        idx[j] = ia;
      } else if (fromB[j]! >= 0 && cb) {
        src[j] = cb.cols[fromB[j]!];
        idx[j] = ib;
      } else src[j] = undefined;
    }
    builder.push(src, idx);
    if (builder.full) {
      const c = builder.take();
      await writer.write(c);
      progress.chunk(c.numRows);
    }
  };
  let tmpDir: string | undefined;
  try {
    progress.startPass(1);
    if (type === 'oneToOne') {
      const ca = cursorOf(a, rows);
      const cb = cursorOf(b, rows);
      const spec: KeySpec = { names: [], decreasing: [], missingsLow: true };
      let hasA = await advance(ca, spec, namesAOrder);
      let hasB = await advance(cb, spec, namesBOrder);
      while (hasA && hasB) {
        await emit(ca, ca.pos, cb, cb.pos);
        if (++ca.pos >= ca.chunk!.numRows) hasA = await advance(ca, spec, namesAOrder);
        if (++cb.pos >= cb.chunk!.numRows) hasB = await advance(cb, spec, namesBOrder);
      }
      if (hasA || hasB) throw new RxError('RX_SCHEMA', `rxMerge type 'oneToOne' needs inputs with the same number of rows (${hasA ? 'inData1' : 'inData2'} has more)`);
    } else {
      const spec: KeySpec = { names: keys, decreasing: keys.map(() => false), missingsLow: true, factorByLabel: true };
      let sortedA = a;
      let sortedB = b;
      if (opts.autoSort !== false) {
        tmpDir = await mkdtemp(join(tmpdir(), 'rxmerge-'));
        sortedA = new RxXdfData(join(tmpDir, 'a.arrow'));
        sortedB = new RxXdfData(join(tmpDir, 'b.arrow'));
        await externalSort(a, sortedA as RxXdfData, spec, { rowsPerRead: rows, reportProgress: 0 });
        await externalSort(b, sortedB as RxXdfData, spec, { rowsPerRead: rows, reportProgress: 0 });
      }
      const keepA = type === 'left' || type === 'full' || type === 'outer';
      const keepB = type === 'right' || type === 'full' || type === 'outer';
      const ca = cursorOf(sortedA, rows);
      const cb = cursorOf(sortedB, rows);
      let hasA = await advance(ca, spec, namesAOrder);
      let hasB = await advance(cb, spec, namesBOrder);
      const nextA = async () => {
        if (++ca.pos >= ca.chunk!.numRows) hasA = await advance(ca, spec, namesAOrder);
      };
      const nextB = async () => {
        if (++cb.pos >= cb.chunk!.numRows) hasB = await advance(cb, spec, namesBOrder);
      };
      while (hasA || hasB) {
        const r = !hasA ? 1 : !hasB ? -1 : compareKeys(spec, ca.view!, ca.pos, cb.view!, cb.pos);
        const missingA = hasA && hasMissingKey(ca.view, ca.pos);
        if (r < 0 || (r === 0 && missingA)) {
          if (keepA) await emit(ca, ca.pos, undefined, 0);
          await nextA();
          continue;
        }
        if (r > 0) {
          if (keepB) await emit(undefined, 0, cb, cb.pos);
          await nextB();
          continue;
        }
        // equal keys: gather B's group (rows referenced in their chunks)
        const group: Array<{ cols: Array<Column | undefined>; pos: number; chunk: Chunk; view: RunCursor['view'] }> = [];
        const first = { chunk: ca.chunk!, view: ca.view, pos: ca.pos };
        while (hasB && compareKeys(spec, first.view!, first.pos, cb.view!, cb.pos) === 0) {
          group.push({ cols: cb.cols, pos: cb.pos, chunk: cb.chunk!, view: cb.view });
          await nextB();
        }
        const g0 = group[0]!;
        while (hasA && compareKeys(spec, ca.view!, ca.pos, g0.view!, g0.pos) === 0) {
          for (const gb of group) await emit(ca, ca.pos, gb, gb.pos);
          await nextA();
        }
      }
    }
    if (builder.n > 0) {
      const c = builder.take();
      await writer.write(c);
      progress.chunk(c.numRows);
    }
    await writer.close();
    progress.endPass();
  } catch (e) {
    await writer.abort(e);
    throw e;
  } finally {
    if (tmpDir) await rm(tmpDir, { recursive: true, force: true });
  }
  return sink ?? mem!.result();
}
