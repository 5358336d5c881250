/**
 * rxSplit: one data set into several, by rows or by the levels of a factor.
 *
 *  - `numOut` with splitBy 'rows' (default): contiguous row ranges whose sizes differ by at
 *    most one row; splitBy 'blocks': chunks dealt round-robin, so block counts are equal.
 *  - `splitByFactor`: one output per level (every level the schema knows, so an unused
 *    level gives an empty file, plus levels first seen in the data); rows whose factor is
 *    missing are dropped. Rows are buffered per level up to rowsPerRead, so memory is
 *    bounded by (number of levels) x rowsPerRead rows.
 * Outputs are files `<outFilesBase>.<suffix>.xdf` (or `.parquet` with format 'parquet'),
 * suffixes 1..numOut or the level labels (characters not allowed in file names become
 * `_`), or in-memory RxMemoryData when `outFilesBase` is absent. Files appear atomically.
 */
import { sliceColumn } from '../data/memory.js';
import { RxParquetData } from '../data/parquet.js';
import type { Chunk, ChunkWriter, Column, DataSink, DataSource, Schema } from '../data/types.js';
import { RxXdfData } from '../data/xdf.js';
import { RxError } from '../errors.js';
import { withTransforms } from '../expr/source.js';
import { rxOptions } from '../options.js';
import { argError, expectNumber } from '../validate.js';
import { MemorySink, checkVars, concatChunks, filterChunk, progressFor, resolveInput } from './common.js';
import type { InData } from './import.js';
import type { RxMemoryData } from '../data/memory.js';

export interface RxSplitOptions {
  inData: InData;
  outFilesBase?: string;
  outFileSuffixes?: string[];
  numOut?: number;
  splitBy?: 'rows' | 'blocks';
  splitByFactor?: string;
  format?: 'xdf' | 'parquet';
  varsToKeep?: string[];
  varsToDrop?: string[];
  overwrite?: boolean;
  rowsPerRead?: number;
  reportProgress?: 0 | 1 | 2 | 3;
}

function safeSuffix(s: string): string {
  return s.replace(/[\\/:*?"<>|\x00-\x1f]/g, '_');
}

interface Out {
  sink: DataSink;
  writer?: ChunkWriter;
  pending: Chunk[];
  pendingRows: number;
  result: DataSource | (() => RxMemoryData);
}

export async function rxSplit(opts: RxSplitOptions): Promise<DataSource[]> {
  if (typeof opts !== 'object' || opts === null) throw argError('an options object', 'rxSplit', opts);
  let source = resolveInput(opts.inData, 'inData');
  const base = await source.schema();
  checkVars(base, opts.varsToKeep, 'varsToKeep', 'inData');
  checkVars(base, opts.varsToDrop, 'varsToDrop', 'inData');
  if (opts.splitByFactor !== undefined) checkVars(base, [opts.splitByFactor], 'splitByFactor', 'inData');
  if (opts.varsToKeep || opts.varsToDrop) source = withTransforms(source, { ...(opts.varsToKeep ? { varsToKeep: opts.varsToKeep } : {}), ...(opts.varsToDrop ? { varsToDrop: opts.varsToDrop } : {}) });
  const schema = await source.schema();
  const rows = opts.rowsPerRead ?? rxOptions().rowsPerRead;
  const ext = opts.format === 'parquet' ? 'parquet' : 'xdf';
  const outSchema: Schema = { columns: schema.columns, ...(schema.metadata ? { metadata: schema.metadata } : {}) };
  const progress = progressFor(opts.reportProgress, 'rxSplit');

  const makeOut = (suffix: string): Out => {
    if (opts.outFilesBase === undefined) {
      const m = new MemorySink();
      return { sink: m, pending: [], pendingRows: 0, result: () => m.result() };
    }
    const file = `${opts.outFilesBase}.${safeSuffix(suffix)}.${ext}`;
    const s = ext === 'parquet' ? new RxParquetData(file) : new RxXdfData(file);
    return { sink: s, pending: [], pendingRows: 0, result: s };
  };
  const outs: Out[] = [];
  const flush = async (o: Out, force: boolean) => {
    if (!force && o.pendingRows < rows) return;
    o.writer ??= await o.sink.open(outSchema, { overwrite: opts.overwrite ?? false });
    if (o.pendingRows === 0) return;
    const c =
      o.pending.length === 1 ? o.pending[0]! : { numRows: o.pendingRows, startRow: 0, names: schema.columns.map((x) => x.name), columns: concatChunks(schema.columns, o.pending) };
    await o.writer.write(c);
    o.pending = [];
    o.pendingRows = 0;
  };
  const add = async (o: Out, c: Chunk) => {
    if (c.numRows === 0) return;
    o.pending.push(c);
    o.pendingRows += c.numRows;
    await flush(o, false);
  };

  try {
    progress.startPass(1, schema.numRows);
    if (opts.splitByFactor !== undefined) {
      const f = opts.splitByFactor;
      const info = schema.columns.find((c) => c.name === f)!;
      if (info.type !== 'factor' && info.type !== 'string') throw new RxError('RX_ARG', `splitByFactor "${f}" must be a factor (it is ${info.type})`, { column: f });
      const byLevel = new Map<string, Out>();
      const outFor = (label: string) => {
        let o = byLevel.get(label);
        if (!o) {
          o = makeOut(label);
          byLevel.set(label, o);
          outs.push(o);
        }
        return o;
      };
      for (const l of info.levels ?? []) outFor(l);
      for await (const ch of source.chunks({ rowsPerRead: rows })) {
        const c = ch.columns[f]!;
        const labels: Array<string | null> = [];
        for (let i = 0; i < ch.numRows; i++) {
          if (c.valid && c.valid[i] === 0) labels.push(null);
          else labels.push(c.type === 'factor' ? c.levels![(c.data as Int32Array)[i]!]! : ((c.data as Array<string | null>)[i] ?? null));
        }
        const distinct = [...new Set(labels.filter((x): x is string => x !== null))];
        for (const l of distinct) {
          const keep = Uint8Array.from(labels, (x) => (x === l ? 1 : 0));
          let m = 0;
          for (const k of keep) m += k;
          await add(outFor(l), m === ch.numRows ? ch : filterChunk(ch, keep, m));
        }
        progress.chunk(ch.numRows);
      }
    } else {
      const numOut = expectNumber(opts.numOut, 'numOut', { min: 1, integer: true });
      for (let i = 0; i < numOut; i++) outs.push(makeOut(opts.outFileSuffixes?.[i] ?? String(i + 1)));
      if (opts.outFileSuffixes && opts.outFileSuffixes.length !== numOut) throw new RxError('RX_ARG', `outFileSuffixes has ${opts.outFileSuffixes.length} entries but numOut is ${numOut}`);
      if (opts.splitBy === 'blocks') {
        let k = 0;
        for await (const ch of source.chunks({ rowsPerRead: rows })) {
          const o = outs[k++ % numOut]!;
          o.writer ??= await o.sink.open(outSchema, { overwrite: opts.overwrite ?? false });
          await o.writer.write(ch);
          progress.chunk(ch.numRows);
        }
      } else {
        let total = schema.numRows ?? (await source.numRows?.());
        if (total === undefined) {
          total = 0;
          for await (const ch of source.chunks({ columns: schema.columns.slice(0, 1).map((c) => c.name), rowsPerRead: rows })) total += ch.numRows;
        }
        const bounds: number[] = [0];
        for (let i = 0; i < numOut; i++) bounds.push(bounds[i]! + Math.floor(total / numOut) + (i < total % numOut ? 1 : 0));
        let row = 0;
        for await (const ch of source.chunks({ rowsPerRead: rows })) {
          let b = 0;
          while (b < ch.numRows) {
            let t = 0;
            while (t < numOut - 1 && row + b >= bounds[t + 1]!) t++;
            const e = Math.min(ch.numRows, bounds[t + 1]! - row);
            const part: Chunk =
              b === 0 && e === ch.numRows
                ? ch
                : { numRows: e - b, startRow: row + b, names: ch.names, columns: Object.fromEntries(ch.names.map((n) => [n, sliceColumn(ch.columns[n] as Column, b, e)])) };
            await add(outs[t]!, part);
            b = e;
          }
          row += ch.numRows;
          progress.chunk(ch.numRows);
        }
      }
    }
    for (const o of outs) {
      await flush(o, true);
      await o.writer!.close();
    }
    progress.endPass();
  } catch (e) {
    for (const o of outs) await o.writer?.abort(e);
    throw e;
  }
  return outs.map((o) => (typeof o.result === 'function' ? o.result() : o.result));
}

