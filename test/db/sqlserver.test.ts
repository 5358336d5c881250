import { afterAll, describe, expect, it } from 'vitest';
import type { Chunk } from '../../lib/data/types.js';
import { RxMemoryData } from '../../lib/data/memory.js';
import {
  RxSqlServerData,
  parseSqlServerConnectionString,
  tediousTypeToColumnType,
  tsqlCount,
  tsqlCreateTable,
  tsqlSchemaQuery,
  tsqlSelect,
  tsqlSwapTables,
} from '../../lib/db/sqlserver.js';

describe('SQL Server: T-SQL generation and connection strings (no server needed)', () => {
  it('parses ADO.NET connection strings, including quoted values and instances', () => {
    expect(parseSqlServerConnectionString('Server=tcp:db.example.com,1433;Database=rx;User Id=sa;Password={p;w}}d};Encrypt=true;TrustServerCertificate=yes')).toEqual({
      server: 'db.example.com',
      port: 1433,
      database: 'rx',
      user: 'sa',
      password: 'p;w}d',
      encrypt: true,
      trustServerCertificate: true,
    });
    expect(parseSqlServerConnectionString("Data Source=host\\SQLEXPRESS;Initial Catalog=x;UID=u;PWD='a''b'")).toMatchObject({ server: 'host', instanceName: 'SQLEXPRESS', database: 'x', user: 'u', password: "a'b" });
    expect(() => parseSqlServerConnectionString('Database=x')).toThrow(/no Server/);
  });

  it('bracket-quotes identifiers and only ever uses sqlQuery as a derived table', () => {
    const evil = 'x]; DROP TABLE t; --';
    expect(tsqlSelect({ table: evil, schemaName: 'dbo' }, ['a', 'b]c'])).toBe('SELECT [a], [b]]c] FROM [dbo].[x]]; DROP TABLE t; --]');
    expect(tsqlSelect({ sqlQuery: 'SELECT * FROM t WHERE y > 1' }, ['a'], 10, 5)).toBe(
      'SELECT [a] FROM (SELECT * FROM t WHERE y > 1) AS rx_q ORDER BY (SELECT NULL) OFFSET 10 ROWS FETCH NEXT 5 ROWS ONLY',
    );
    expect(tsqlSchemaQuery({ table: 't' })).toBe('SELECT TOP (0) * FROM [t]');
    expect(tsqlCount({ table: 't' })).toBe('SELECT CAST(COUNT_BIG(*) AS FLOAT) AS n FROM [t]');
    expect(
      tsqlCreateTable('out', undefined, [
        { name: 'x', type: 'float64' },
        { name: 'g', type: 'factor' },
        { name: 's', type: 'string' },
        { name: 'd', type: 'date' },
        { name: 'ts', type: 'timestamp' },
        { name: 'b', type: 'bool' },
      ]),
    ).toBe('CREATE TABLE [out] ([x] FLOAT NULL, [g] NVARCHAR(4000) NULL, [s] NVARCHAR(MAX) NULL, [d] DATE NULL, [ts] DATETIME2(3) NULL, [b] BIT NULL)');
    expect(tsqlSwapTables("o'k", "o'k__tmp", 'dbo', true)).toEqual(["DROP TABLE [dbo].[o'k]", "EXEC sp_rename N'[dbo].[o''k__tmp]', N'o''k'"]);
  });

  it('maps SQL Server column types to the schema', () => {
    expect(['Int', 'BigInt', 'IntN', 'Real', 'FloatN', 'Decimal', 'Bit', 'NVarChar', 'Date', 'DateTime2', 'Xml'].map((t) => tediousTypeToColumnType(t, t === 'IntN' ? 8 : t === 'FloatN' ? 8 : undefined))).toEqual([
      'int32', 'float64', 'float64', 'float32', 'float64', 'float64', 'bool', 'string', 'date', 'timestamp', null,
    ]);
  });

  it('validates options', () => {
    expect(() => new RxSqlServerData({ connectionString: 'Server=x', table: 't', sqlQuery: 'SELECT 1' })).toThrow(/exactly one of table or sqlQuery/);
    expect(() => new RxSqlServerData({ table: 't' })).toThrow(/connectionString or server/);
  });
});

const mssql = process.env.RXSCALE_MSSQL;
if (!mssql) console.warn('[skipped] SQL Server integration tests: set RXSCALE_MSSQL to a connection string to run them');

describe.skipIf(!mssql)('RxSqlServerData against a real SQL Server (RXSCALE_MSSQL)', () => {
  const table = `rxscale_test_${process.pid}`;
  const evil = `${table}]; DROP TABLE ${table}; --`;
  afterAll(async () => {
    for (const t of [table, evil]) {
      const src = new RxSqlServerData({ connectionString: mssql!, table: t });
      const conn = await src.connect();
      await new Promise<void>((resolve) => {
        import('tedious').then((td) => {
          const r = new td.Request(`IF OBJECT_ID(N'${`[${t.replaceAll(']', ']]')}]`.replaceAll("'", "''")}', N'U') IS NOT NULL DROP TABLE [${t.replaceAll(']', ']]')}]`, () => resolve());
          conn.execSql(r);
        });
      });
      conn.close();
    }
  });

  it('bulk-loads, refuses to clobber, appends and streams back in chunks', async () => {
    const mem = new RxMemoryData({ x: Float64Array.from([1.5, Number.NaN, -3]), k: Int32Array.from([1, 2, 3]), g: ['a', 'b', 'a'] });
    const dest = new RxSqlServerData({ connectionString: mssql!, table });
    let w = await dest.open(await mem.schema(), {});
    for await (const c of mem.chunks({ rowsPerRead: 2 })) await w.write(c);
    await w.close();
    await expect(dest.open(await mem.schema(), {})).rejects.toMatchObject({ code: 'RX_IO' });
    w = await dest.open(await mem.schema(), { append: 'rows' });
    for await (const c of mem.chunks()) await w.write(c);
    await w.close();
    const chunks: Chunk[] = [];
    for await (const c of new RxSqlServerData({ connectionString: mssql!, table }).chunks({ rowsPerRead: 4 })) chunks.push(c);
    expect(chunks.map((c) => c.numRows)).toEqual([4, 2]);
    expect(chunks.flatMap((c) => c.columns.g!.data as string[]).sort()).toEqual(['a', 'a', 'a', 'a', 'b', 'b']);
  });

  it('quotes a hostile table name; the real table survives', async () => {
    const mem = new RxMemoryData({ x: [1] });
    const w = await new RxSqlServerData({ connectionString: mssql!, table: evil }).open(await mem.schema(), {});
    for await (const c of mem.chunks()) await w.write(c);
    await w.close();
    expect(await new RxSqlServerData({ connectionString: mssql!, table }).numRows()).toBe(6);
  });
});
