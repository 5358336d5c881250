/**
 * Byte readers for RxTextData: positioned reads of a plain file, or a streamed gunzip of a
 * gzip file (detected by its magic bytes, not its name). Both fill a caller's buffer, so
 * memory stays bounded by the block size whatever the file size.
 */
import { createReadStream } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { createGunzip } from 'node:zlib';
import { RxError } from '../errors.js';

export interface ByteReader {
  readonly gzip: boolean;
  /** Size of the file on disk (compressed size for gzip). */
  readonly fileSize: number;
  /** Reads up to `length` bytes into target[offset..]; 0 means end of data. */
  read(target: Uint8Array, offset: number, length: number): Promise<number>;
  /** Positioned read that does not move the stream (plain files only). */
  readAt?(target: Uint8Array, offset: number, length: number, position: number): Promise<number>;
  close(): Promise<void>;
}

function ioError(file: string, what: string, e: unknown): RxError {
  const err = e as NodeJS.ErrnoException;
  return new RxError('RX_IO', `cannot ${what} ${file}: ${err?.message ?? String(e)}`, { file, cause: e });
}

class PlainReader implements ByteReader {
  readonly gzip = false;
  constructor(
    private readonly fh: FileHandle,
    readonly fileSize: number,
    private pos: number,
    private readonly file: string,
  ) {}
  async read(target: Uint8Array, offset: number, length: number): Promise<number> {
    try {
      const { bytesRead } = await this.fh.read(target, offset, length, this.pos);
      this.pos += bytesRead;
      return bytesRead;
    } catch (e) {
      throw ioError(this.file, 'read', e);
    }
  }
  async readAt(target: Uint8Array, offset: number, length: number, position: number): Promise<number> {
    try {
      return (await this.fh.read(target, offset, length, position)).bytesRead;
    } catch (e) {
      throw ioError(this.file, 'read', e);
    }
  }
  async close(): Promise<void> {
    await this.fh.close();
  }
}

class GzipReader implements ByteReader {
  readonly gzip = true;
  private readonly it: AsyncIterator<Buffer>;
  private pending: Buffer | null = null;
  private done = false;
  private readonly stream: NodeJS.ReadableStream & { destroy(): void };
  private readonly raw: ReturnType<typeof createReadStream>;

  constructor(
    private readonly file: string,
    readonly fileSize: number,
  ) {
    this.raw = createReadStream(file, { highWaterMark: 1 << 20 });
    const gunzip = createGunzip({ chunkSize: 1 << 20 });
    this.raw.on('error', (e) => gunzip.destroy(e));
    this.stream = this.raw.pipe(gunzip);
    this.it = (gunzip as unknown as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  }

  async read(target: Uint8Array, offset: number, length: number): Promise<number> {
    let n = 0;
    while (n < length) {
      if (!this.pending || this.pending.length === 0) {
        if (this.done) break;
        let r: IteratorResult<Buffer>;
        try {
          r = await this.it.next();
        } catch (e) {
          const msg = (e as Error).message ?? String(e);
          throw new RxError('RX_IO', `gzip data in ${this.file} is damaged or ends early (${msg})`, { file: this.file, cause: e });
        }
        if (r.done) {
          this.done = true;
          break;
        }
        this.pending = r.value;
        continue;
      }
      const take = Math.min(length - n, this.pending.length);
      target.set(this.pending.subarray(0, take), offset + n);
      this.pending = this.pending.subarray(take);
      n += take;
      if (n > 0 && !this.pending.length) break; // return what we have; caller loops
    }
    return n;
  }

  async close(): Promise<void> {
    this.stream.destroy();
    this.raw.destroy();
  }
}

/** Opens a text file for reading from decompressed byte offset `start`. */
export async function openBytes(file: string, start = 0): Promise<ByteReader> {
  let fh: FileHandle;
  try {
    fh = await open(file, 'r');
  } catch (e) {
    throw ioError(file, 'open', e);
  }
  let size: number;
  let gzip = false;
  try {
    size = (await fh.stat()).size;
    if (size >= 2) {
      const magic = Buffer.alloc(2);
      await fh.read(magic, 0, 2, 0);
      gzip = magic[0] === 0x1f && magic[1] === 0x8b;
    }
  } catch (e) {
    await fh.close();
    throw ioError(file, 'read', e);
  }
  if (!gzip) return new PlainReader(fh, size, start, file);
  await fh.close();
  const r = new GzipReader(file, size);
  // discard the first `start` decompressed bytes
  const scratch = new Uint8Array(Math.min(Math.max(start, 1), 1 << 20));
  let left = start;
  while (left > 0) {
    const n = await r.read(scratch, 0, Math.min(left, scratch.length));
    if (n === 0) break;
    left -= n;
  }
  return r;
}

/** Fills target[offset..offset+length) as far as the data allows; returns bytes read. */
export async function readFully(r: ByteReader, target: Uint8Array, offset: number, length: number): Promise<number> {
  let n = 0;
  while (n < length) {
    const k = await r.read(target, offset + n, length - n);
    if (k === 0) break;
    n += k;
  }
  return n;
}
