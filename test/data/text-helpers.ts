import { expect } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { ChunkOptions, DataSource } from '../../lib/data/types.js';
import { isMissing } from '../../lib/data/types.js';

const dir = mkdtempSync(join(tmpdir(), 'rxtext-'));
let n = 0;

/** Writes text (or bytes) to a fresh temp file; `gz` compresses it. */
export function tmpFile(content: string | Uint8Array, opts: { gz?: boolean; ext?: string } = {}): string {
  const bytes = typeof content === 'string' ? Buffer.from(content, 'utf8') : Buffer.from(content);
  const file = join(dir, `f${n++}${opts.ext ?? (opts.gz ? '.csv.gz' : '.csv')}`);
  writeFileSync(file, opts.gz ? gzipSync(bytes) : bytes);
  return file;
}

export function cleanup(): void {
  rmSync(dir, { recursive: true, force: true });
}

export type Cell = number | string | boolean | null;

/** Reads every chunk and returns plain values per column (factors as labels, missing as null). */
export async function readAll(src: DataSource, opts: ChunkOptions = {}): Promise<{ names: string[]; rows: number; chunks: number[]; cols: Record<string, Cell[]> }> {
  const cols: Record<string, Cell[]> = {};
  let names: string[] = [];
  let rows = 0;
  const chunks: number[] = [];
  let prevLevels: Record<string, string[]> = {};
  for await (const ch of src.chunks(opts)) {
    names = ch.names;
    chunks.push(ch.numRows);
    expect(ch.startRow).toBe((opts.startRow ?? 0) + rows);
    for (const name of ch.names) {
      const c = ch.columns[name]!;
      const out = (cols[name] ??= []);
      if (c.type === 'factor') {
        // levels only grow: earlier chunks' levels are a prefix
        const prev = prevLevels[name] ?? [];
        expect(c.levels!.slice(0, prev.length)).toEqual(prev);
        prevLevels = { ...prevLevels, [name]: c.levels! };
      }
      for (let i = 0; i < ch.numRows; i++) {
        if (isMissing(c, i)) {
          out.push(null);
          continue;
        }
        const v = (c.data as ArrayLike<unknown>)[i];
        if (c.type === 'factor') out.push(c.levels![v as number]!);
        else if (c.type === 'bool') out.push(v === 1);
        else out.push(v as number | string);
      }
    }
    rows += ch.numRows;
  }
  return { names, rows, chunks, cols };
}

/** Quotes a CSV field when needed (RFC 4180). */
export function csvField(s: string): string {
  return /[",\n\r]/.test(s) || s === '' ? `"${s.replace(/"/g, '""')}"` : s;
}

/** Small seeded PRNG (mulberry32, the library's). */
export { mulberry32 as rng } from '../../lib/ml/rng.js';
