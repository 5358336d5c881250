import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Chunk } from '../../lib/data/types.js';
import { RxMemoryData } from '../../lib/data/memory.js';
import { RxOdbcData } from '../../lib/db/odbc.js';
import { type PgInstance, postgresUnavailableReason, startPostgres } from '../helpers/postgres.js';

function driverInstalled(name: string): boolean {
  try {
    return execFileSync('odbcinst', ['-q', '-d'], { encoding: 'utf8' }).includes(`[${name}]`);
  } catch {
    return false;
  }
}
async function odbcLoads(): Promise<boolean> {
  try {
    await import('odbc');
    return true;
  } catch {
    return false;
  }
}
const haveOdbc = await odbcLoads();
const sqliteSkip = !haveOdbc ? 'the odbc package did not build' : !driverInstalled('SQLite3') ? 'SQLite3 ODBC driver not installed (apt-get install libsqliteodbc)' : null;
const pgSkip = !haveOdbc ? 'the odbc package did not build' : !driverInstalled('PostgreSQL Unicode') ? 'psqlODBC not installed (apt-get install odbc-postgresql)' : postgresUnavailableReason();
if (sqliteSkip) console.warn(`[skipped] SQLite ODBC tests: ${sqliteSkip}`);
if (pgSkip) console.warn(`[skipped] psqlODBC tests: ${pgSkip}`);

async function readAll(src: RxOdbcData, rowsPerRead?: number): Promise<Chunk[]> {
  const out: Chunk[] = [];
  for await (const c of src.chunks(rowsPerRead ? { rowsPerRead } : {})) out.push(c);
  return out;
}

const dir = mkdtempSync(join(tmpdir(), 'rxscale-odbc-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.skipIf(sqliteSkip)('RxOdbcData over SQLite ODBC', () => {
  const cs = `Driver=SQLite3;Database=${join(dir, 'a.db')};StepAPI=1`;

  it('writes a table atomically, reads it back in chunks, refuses to clobber', async () => {
    const mem = new RxMemoryData({
      x: Float64Array.from([1.5, Number.NaN, -3]),
      k: Int32Array.from([7, 8, 9]),
      g: ['u', 'v', 'u'],
      d: { type: 'date', data: Int32Array.from([0, 18263, -1]) },
      ts: { type: 'timestamp', data: Float64Array.from([Date.UTC(2020, 0, 2, 3, 4, 5, 678), Number.NaN, 0]) },
    });
    const dest = new RxOdbcData({ connectionString: cs, table: 't', dialect: 'sqlite' });
    const w = await dest.open(await mem.schema(), {});
    for await (const c of mem.chunks({ rowsPerRead: 2 })) await w.write(c);
    await w.close();
    await expect(dest.open(await mem.schema(), {})).rejects.toMatchObject({ code: 'RX_IO' });
    const schema = await dest.schema();
    expect(schema.columns.map((c) => [c.name, c.type])).toEqual([
      ['x', 'float64'], ['k', 'int32'], ['g', 'string'], ['d', 'date'], ['ts', 'timestamp'],
    ]);
    const chunks = await readAll(new RxOdbcData({ connectionString: cs, table: 't', dialect: 'sqlite' }), 2);
    expect(chunks.map((c) => c.numRows)).toEqual([2, 1]);
    const x = chunks.flatMap((c) => Array.from(c.columns.x!.data as Float64Array));
    expect(x).toEqual([1.5, Number.NaN, -3]);
    expect(chunks.flatMap((c) => c.columns.g!.data as string[])).toEqual(['u', 'v', 'u']);
    expect(chunks.flatMap((c) => Array.from(c.columns.d!.data as Int32Array))).toEqual([0, 18263, -1]);
    expect((chunks[0]!.columns.ts!.data as Float64Array)[0]).toBe(Date.UTC(2020, 0, 2, 3, 4, 5, 678));
  });

  it('binds hostile values and quotes hostile identifiers; bad SQL is RX_SQL', async () => {
    const evil = `x"; DROP TABLE t; --`;
    const mem = new RxMemoryData({ [evil]: [`'); DROP TABLE t; --`] }, { stringsAsFactors: false });
    const w = await new RxOdbcData({ connectionString: cs, table: evil, dialect: 'sqlite' }).open(await mem.schema(), {});
    for await (const c of mem.chunks()) await w.write(c);
    await w.close();
    expect(await new RxOdbcData({ connectionString: cs, table: 't', dialect: 'sqlite' }).numRows()).toBe(3);
    const [c] = await readAll(new RxOdbcData({ connectionString: cs, table: evil, dialect: 'sqlite' }));
    expect(c!.columns[evil]!.data).toEqual([`'); DROP TABLE t; --`]);
    await expect(new RxOdbcData({ connectionString: cs, sqlQuery: 'SELEC 1', dialect: 'sqlite' }).schema()).rejects.toMatchObject({ code: 'RX_SQL' });
    await expect(new RxOdbcData({ connectionString: 'Driver=NoSuchDriver;Database=x', table: 't' }).schema()).rejects.toMatchObject({ code: 'RX_DATA_SOURCE' });
  });
});

describe.skipIf(pgSkip)('RxOdbcData over psqlODBC (real PostgreSQL)', () => {
  let inst: PgInstance;
  let cs: string;
  beforeAll(async () => {
    inst = await startPostgres();
    cs = `Driver={PostgreSQL Unicode};Server=127.0.0.1;Port=${inst.port};Database=postgres;Uid=postgres;UseDeclareFetch=1;Fetch=1000`;
  });
  afterAll(() => inst?.stop());

  it('round-trips a table with bounded fetches', async () => {
    const n = 2500;
    const mem = new RxMemoryData({ x: Float64Array.from({ length: n }, (_, i) => i / 4), g: Array.from({ length: n }, (_, i) => (i % 3 ? 'a' : 'b')) });
    const w = await new RxOdbcData({ connectionString: cs, table: 'pgt', dialect: 'postgres' }).open(await mem.schema(), {});
    for await (const c of mem.chunks({ rowsPerRead: 1000 })) await w.write(c);
    await w.close();
    const chunks = await readAll(new RxOdbcData({ connectionString: cs, sqlQuery: 'SELECT x, g FROM pgt ORDER BY x', dialect: 'postgres' }), 1000);
    expect(chunks.map((c) => c.numRows)).toEqual([1000, 1000, 500]);
    expect(chunks.flatMap((c) => Array.from(c.columns.x!.data as Float64Array))).toEqual(Array.from({ length: n }, (_, i) => i / 4));
  });
});
