import type { Chunk, Column } from '../../lib/data/types.js';

/** Plain values of a column (null where missing; factor labels). */
export function vals(c: Column): unknown[] {
  const out: unknown[] = [];
  const d = c.data as ArrayLike<unknown>;
  for (let i = 0; i < d.length; i++) {
    const v = d[i];
    const miss = c.valid ? c.valid[i] === 0 : v === null || (typeof v === 'number' && Number.isNaN(v));
    out.push(miss ? null : c.type === 'factor' ? c.levels![v as number] : v);
  }
  return out;
}

/** All values of a source, per column. */
export async function readAll(src: { chunks(o?: object): AsyncIterable<Chunk> }, opts: object = {}): Promise<Record<string, unknown[]>> {
  const cols: Record<string, unknown[]> = {};
  for await (const ch of src.chunks(opts)) for (const n of ch.names) (cols[n] ??= []).push(...vals(ch.columns[n]!));
  return cols;
}
