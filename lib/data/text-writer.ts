/**
 * CSV/TSV writer behind RxTextData's DataSink side.
 *
 * Output goes to a temp file beside the target (`.<name>.tmp-<pid>-<rand>`) and is renamed
 * into place on close, so readers never see a half-written file and a failed write leaves
 * any previous file untouched. `append: 'rows'` copies the existing file to the temp name
 * first and adds rows without a header (the existing header must name the same columns).
 * A `.gz` target is written as gzip members (one per chunk; gunzip reads them as one
 * stream).
 *
 * Formatting: numbers in the shortest form that reads back to the same value (float32 by
 * its own precision), Inf/-Inf, logicals TRUE/FALSE, factors as labels, dates YYYY-MM-DD,
 * timestamps `YYYY-MM-DD HH:MM:SS[.fff]` (UTC). Missing values are written as the first
 * `missingValueString` (default "NA"). A field is quoted (quote doubled inside) only when it
 * holds the delimiter, the quote, a line break, leading/trailing blanks, or is empty.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { type FileHandle, copyFile, open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { RxError } from '../errors.js';
import { openBytes } from './text-io.js';
import type { Chunk, ChunkWriter, Column, ColumnInfo, Schema } from './types.js';

export interface TextWriteOptions {
  delimiter: string;
  /** '' disables quoting (then a value that needs quotes is an error). */
  quote: string;
  missing: string;
  decimal: string;
  header: boolean;
}

function tempNameFor(file: string): string {
  return join(dirname(file), `.${basename(file)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
}

const pad2 = (n: number) => (n < 10 ? `0${n}` : String(n));

function formatDate(days: number): string {
  return new Date(days * 86_400_000).toISOString().slice(0, 10);
}

function formatTimestamp(ms: number): string {
  const d = new Date(ms);
  if (Number.isNaN(d.getTime())) return '';
  const iso = d.toISOString(); // YYYY-MM-DDTHH:MM:SS.sssZ (or ±YYYYYY-...)
  const t = iso.indexOf('T');
  const frac = ms % 1000 === 0 ? '' : iso.slice(t + 9, t + 13);
  return `${iso.slice(0, t)} ${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())}${frac}`;
}

function formatFloat32(v: number): string {
  for (let p = 6; p < 9; p++) {
    const s = v.toPrecision(p);
    if (Math.fround(Number(s)) === v) return String(Number(s));
  }
  return String(Number(v.toPrecision(9)));
}

export class TextWriter implements ChunkWriter {
  private closed = false;
  private readonly needsQuote: RegExp;
  private readonly quoteAll: RegExp | undefined;

  private constructor(
    readonly file: string,
    private readonly tmp: string,
    private readonly fh: FileHandle,
    private readonly columns: ColumnInfo[],
    private readonly opt: TextWriteOptions,
    private readonly gzip: boolean,
    private readonly onClose: () => void,
  ) {
    const esc = (c: string) => c.replace(/[\\^$.*+?()[\]{}|-]/g, '\\$&');
    const special = `${esc(opt.delimiter)}\\r\\n${opt.quote ? esc(opt.quote) : ''}`;
    this.needsQuote = new RegExp(`[${special}]|^\\s|\\s$|^$`);
    this.quoteAll = opt.quote ? new RegExp(esc(opt.quote), 'g') : undefined;
  }

  static async open(
    file: string,
    schema: Schema,
    opt: TextWriteOptions,
    opts: { overwrite?: boolean; append?: 'none' | 'rows' },
    onClose: () => void,
  ): Promise<TextWriter> {
    const append = opts.append ?? 'none';
    if (append !== 'none' && append !== 'rows') throw new RxError('RX_ARG', `Expected append 'none' or 'rows' but received ${JSON.stringify(append)}`);
    const exists = existsSync(file);
    if (exists && append !== 'rows' && !opts.overwrite)
      throw new RxError('RX_IO', `Output file "${file}" already exists; pass overwrite: true to replace it or append: 'rows' to add rows`, { file });
    const names = schema.columns.map((c) => c.name);
    const dupe = names.find((n, i, a) => a.indexOf(n) !== i);
    if (dupe !== undefined) throw new RxError('RX_SCHEMA', `Duplicate column name "${dupe}" in data written to "${file}"`, { file, column: dupe });
    const gzip = /\.gz$/i.test(file);
    const tmp = tempNameFor(file);
    let fh: FileHandle | undefined;
    try {
      let writeHeader = opt.header;
      let needNewline = false;
      if (append === 'rows' && exists) {
        const tail = await TextWriter.inspect(file, opt, names);
        needNewline = !tail.endsWithNewline;
        await copyFile(file, tmp);
        fh = await open(tmp, 'a');
        writeHeader = false;
      } else {
        fh = await open(tmp, 'wx');
      }
      const w = new TextWriter(file, tmp, fh, schema.columns, opt, gzip, onClose);
      let head = needNewline ? '\n' : '';
      if (writeHeader) head += `${names.map((n) => w.field(n)).join(opt.delimiter)}\n`;
      if (head) await w.put(head);
      return w;
    } catch (e) {
      if (fh) await fh.close().catch(() => {});
      await rm(tmp, { force: true });
      throw e;
    }
  }

  /** Checks an existing file's header against the columns; tells whether it ends with a newline. */
  private static async inspect(file: string, opt: TextWriteOptions, names: string[]): Promise<{ endsWithNewline: boolean }> {
    const r = await openBytes(file);
    try {
      const head = Buffer.alloc(1 << 16);
      let n = 0;
      for (;;) {
        const k = await r.read(head, n, head.length - n);
        if (k === 0) break;
        n += k;
        if (n === head.length) break;
      }
      let text = head.subarray(0, n).toString('utf8');
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
      if (opt.header && text.length > 0) {
        const first = text.split(/\r\n|\n|\r/, 1)[0] ?? '';
        const q = opt.quote;
        const have = first.split(opt.delimiter).map((s) => (q && s.startsWith(q) && s.endsWith(q) && s.length >= 2 ? s.slice(1, -1).split(q + q).join(q) : s));
        if (have.join('\u0000') !== names.join('\u0000'))
          throw new RxError('RX_SCHEMA', `Cannot append to "${file}": its header (${have.join(', ')}) differs from the data's columns (${names.join(', ')})`, { file });
      }
    } finally {
      await r.close();
    }
    if (r.gzip) return { endsWithNewline: true }; // each member we write ends with a newline
    const fh = await open(file, 'r');
    try {
      const size = (await fh.stat()).size;
      if (size === 0) return { endsWithNewline: true };
      const last = Buffer.alloc(1);
      await fh.read(last, 0, 1, size - 1);
      return { endsWithNewline: last[0] === 0x0a || last[0] === 0x0d };
    } finally {
      await fh.close();
    }
  }

  /** One field as written (quoted when needed). */
  private field(s: string): string {
    if (!this.needsQuote.test(s)) return s;
    const q = this.opt.quote;
    if (!q)
      throw new RxError('RX_ARG', `Cannot write ${JSON.stringify(s)} to "${this.file}" without a quoteMark (it holds the delimiter, a line break or edge blanks)`, {
        file: this.file,
      });
    return q + s.replace(this.quoteAll!, q + q) + q;
  }

  private async put(text: string): Promise<void> {
    let bytes: Uint8Array = Buffer.from(text, 'utf8');
    if (this.gzip) bytes = gzipSync(bytes);
    let off = 0;
    while (off < bytes.length) {
      const { bytesWritten } = await this.fh.write(bytes, off, bytes.length - off);
      off += bytesWritten;
    }
  }

  /** The column's values as text fields (missing -> the missing-value string). */
  private format(info: ColumnInfo, col: Column, n: number): string[] {
    const out: string[] = new Array(n);
    const na = this.opt.missing;
    const v = col.valid;
    const dec = this.opt.decimal;
    const num = (s: string) => (dec === '.' ? s : s.replace('.', dec));
    switch (col.type) {
      case 'float64':
      case 'float32': {
        const d = col.data as Float64Array | Float32Array;
        const f32 = col.type === 'float32';
        for (let i = 0; i < n; i++) {
          const x = d[i]!;
          if ((v && v[i] === 0) || Number.isNaN(x)) out[i] = na;
          else if (x === Number.POSITIVE_INFINITY) out[i] = 'Inf';
          else if (x === Number.NEGATIVE_INFINITY) out[i] = '-Inf';
          else if (x === 0) out[i] = Object.is(x, -0) ? '-0' : '0';
          else out[i] = this.field(num(f32 ? formatFloat32(x) : String(x)));
        }
        break;
      }
      case 'int32':
      case 'int16':
      case 'uint8': {
        const d = col.data as Int32Array;
        for (let i = 0; i < n; i++) out[i] = v && v[i] === 0 ? na : String(d[i]!);
        break;
      }
      case 'bool': {
        const d = col.data as Uint8Array;
        for (let i = 0; i < n; i++) out[i] = v && v[i] === 0 ? na : d[i] ? 'TRUE' : 'FALSE';
        break;
      }
      case 'date': {
        const d = col.data as Int32Array;
        for (let i = 0; i < n; i++) out[i] = v && v[i] === 0 ? na : formatDate(d[i]!);
        break;
      }
      case 'timestamp': {
        const d = col.data as Float64Array;
        for (let i = 0; i < n; i++) out[i] = (v && v[i] === 0) || Number.isNaN(d[i]!) ? na : formatTimestamp(d[i]!);
        break;
      }
      case 'factor': {
        const d = col.data as Int32Array;
        const levels = col.levels ?? info.levels ?? [];
        const quoted = levels.map((l) => this.field(l));
        for (let i = 0; i < n; i++) {
          if (v && v[i] === 0) out[i] = na;
          else {
            const s = quoted[d[i]!];
            if (s === undefined)
              throw new RxError('RX_SCHEMA', `Factor code ${d[i]} of column "${info.name}" has no level (levels: ${levels.length}) writing "${this.file}"`, {
                file: this.file,
                column: info.name,
              });
            out[i] = s;
          }
        }
        break;
      }
      case 'string': {
        const d = col.data as Array<string | null>;
        for (let i = 0; i < n; i++) {
          const s = d[i];
          out[i] = (v && v[i] === 0) || s === null || s === undefined ? na : this.field(s);
        }
        break;
      }
    }
    return out;
  }

  async write(chunk: Chunk): Promise<void> {
    if (this.closed) throw new RxError('RX_INTERNAL', `write after close on "${this.file}"`, { file: this.file });
    const n = chunk.numRows;
    if (n === 0) return;
    const cols = this.columns.map((info) => {
      const col = chunk.columns[info.name];
      if (!col) throw new RxError('RX_SCHEMA', `Chunk written to "${this.file}" lacks column "${info.name}"`, { file: this.file, column: info.name });
      return this.format(info, col, n);
    });
    const d = this.opt.delimiter;
    const lines: string[] = new Array(n);
    const nc = cols.length;
    for (let i = 0; i < n; i++) {
      let s = nc ? cols[0]![i]! : '';
      for (let j = 1; j < nc; j++) s += d + cols[j]![i]!;
      lines[i] = s;
    }
    await this.put(`${lines.join('\n')}\n`);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await this.fh.sync();
      await this.fh.close();
      await rename(this.tmp, this.file);
    } catch (e) {
      await rm(this.tmp, { force: true });
      throw new RxError('RX_IO', `cannot finish writing "${this.file}": ${(e as Error).message}`, { file: this.file, cause: e });
    }
    this.onClose();
  }

  async abort(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.fh.close().catch(() => {});
    await rm(this.tmp, { force: true });
  }
}
