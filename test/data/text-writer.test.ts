import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { RxTextData } from '../../lib/data/text.js';
import type { Chunk, Schema } from '../../lib/data/types.js';
import { RxError } from '../../lib/errors.js';
import { rxImport } from '../../lib/etl/import.js';
import { cleanup, readAll, tmpFile } from './text-helpers.js';

afterAll(cleanup);

/** A fresh path in the helpers' temp directory (no file written). */
function outPath(ext = '.csv'): string {
  const f = tmpFile('', { ext });
  writeFileSync(f, '');
  return f.replace(/(\.[a-z.]+)$/i, `-out$1`);
}

async function rejects(p: Promise<unknown>): Promise<RxError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(RxError);
    return e as RxError;
  }
  throw new Error('expected a rejection');
}

const schema: Schema = {
  columns: [
    { name: 'i', type: 'int32' },
    { name: 'x', type: 'float64' },
    { name: 'f', type: 'float32' },
    { name: 's', type: 'string' },
    { name: 'g', type: 'factor', levels: ['lo', 'hi, mid'] },
    { name: 'b', type: 'bool' },
    { name: 'd', type: 'date' },
    { name: 't', type: 'timestamp' },
  ],
};

function chunk(startRow: number): Chunk {
  return {
    numRows: 3,
    startRow,
    names: schema.columns.map((c) => c.name),
    columns: {
      i: { type: 'int32', data: Int32Array.from([1, -2, 0]), valid: Uint8Array.from([1, 1, 0]) },
      x: { type: 'float64', data: Float64Array.from([0.1, Number.NaN, Number.POSITIVE_INFINITY]) },
      f: { type: 'float32', data: Float32Array.from([0.1, 2.5, -1e-3]) },
      s: { type: 'string', data: ['plain', 'a,b "q"\nline', null] },
      g: { type: 'factor', data: Int32Array.from([1, 0, 0]), valid: Uint8Array.from([1, 1, 0]), levels: ['lo', 'hi, mid'] },
      b: { type: 'bool', data: Uint8Array.from([1, 0, 1]) },
      d: { type: 'date', data: Int32Array.from([0, 19_000, -1]) },
      t: { type: 'timestamp', data: Float64Array.from([0, 1_700_000_000_123, Number.NaN]) },
    },
  };
}

const expectedText =
  'i,x,f,s,g,b,d,t\n' +
  '1,0.1,0.1,plain,"hi, mid",TRUE,1970-01-01,1970-01-01 00:00:00\n' +
  '-2,NA,2.5,"a,b ""q""\nline",lo,FALSE,2022-01-08,2023-11-14 22:13:20.123\n' +
  'NA,Inf,-0.001,NA,NA,TRUE,1969-12-31,NA\n';

describe('RxTextData as a DataSink', () => {
  it('writes every type: numbers round-trip, factors as labels, ISO dates, quoting only where needed', async () => {
    const file = outPath();
    const w = await new RxTextData(file).open(schema, {});
    await w.write(chunk(0));
    expect(existsSync(file)).toBe(false); // written under a temp name until close
    await w.close();
    expect(readFileSync(file, 'utf8')).toBe(expectedText);
    const back = await readAll(new RxTextData(file, { colClasses: { d: 'Date', t: 'POSIXct', g: 'factor' }, dateFormat: '%Y-%m-%d' }));
    expect(back.cols.i).toEqual([1, -2, null]);
    expect(back.cols.x).toEqual([0.1, null, Number.POSITIVE_INFINITY]);
    expect(back.cols.s).toEqual(['plain', 'a,b "q"\nline', null]);
    expect(back.cols.g).toEqual(['hi, mid', 'lo', null]);
    expect(back.cols.b).toEqual([true, false, true]);
    expect(back.cols.d).toEqual([0, 19_000, -1]);
    expect(back.cols.t).toEqual([0, 1_700_000_000_123, null]);
  });

  it('overwrite: false refuses an existing file; overwrite replaces; append adds rows without a header', async () => {
    const file = outPath();
    const sink = new RxTextData(file);
    const w = await sink.open(schema, {});
    await w.write(chunk(0));
    await w.close();
    const e = await rejects(sink.open(schema, {}));
    expect(e.code).toBe('RX_IO');
    expect(e.message).toMatch(/already exists/);
    const a = await sink.open(schema, { append: 'rows' });
    await a.write(chunk(3));
    await a.close();
    const text = readFileSync(file, 'utf8');
    expect(text).toBe(expectedText + expectedText.split('\n').slice(1).join('\n'));
    expect((await readAll(sink)).rows).toBe(6);
    const o = await sink.open(schema, { overwrite: true });
    await o.write(chunk(0));
    await o.close();
    expect(readFileSync(file, 'utf8')).toBe(expectedText);
    // appending data whose columns differ from the header
    const other: Schema = { columns: [{ name: 'zz', type: 'int32' }] };
    expect((await rejects(sink.open(other, { append: 'rows' }))).code).toBe('RX_SCHEMA');
  });

  it('abort leaves neither the file nor a temp file', async () => {
    const file = outPath();
    const w = await new RxTextData(file).open(schema, {});
    await w.write(chunk(0));
    await w.abort();
    expect(existsSync(file)).toBe(false);
    expect(readdirSync(dirname(file)).filter((n) => n.includes('.tmp-'))).toEqual([]);
  });

  it('honours delimiter, decimalPoint, missingValueString and quoteMark; .tsv and .gz by name', async () => {
    const file = outPath();
    const w = await new RxTextData(file, { delimiter: ';', decimalPoint: ',', missingValueString: '-' }).open(schema, {});
    await w.write(chunk(0));
    await w.close();
    const lines = readFileSync(file, 'utf8').split('\n');
    expect(lines[0]).toBe('i;x;f;s;g;b;d;t');
    expect(lines[1]).toBe('1;0,1;0,1;plain;hi, mid;TRUE;1970-01-01;1970-01-01 00:00:00');
    expect(lines[2]).toBe('-2;-;2,5;"a,b ""q""');
    const back = await readAll(new RxTextData(file, { delimiter: ';', decimalPoint: ',', missingValueString: '-' }));
    expect(back.cols.x).toEqual([0.1, null, Number.POSITIVE_INFINITY]);

    const tsv = outPath('.tsv');
    const t = await new RxTextData(tsv).open({ columns: [{ name: 'a', type: 'string' }] }, {});
    await t.write({ numRows: 2, startRow: 0, names: ['a'], columns: { a: { type: 'string', data: ['x,y', 'tab\there'] } } });
    await t.close();
    expect(readFileSync(tsv, 'utf8')).toBe('a\nx,y\n"tab\there"\n');

    const gz = outPath('.csv.gz');
    const g = await new RxTextData(gz).open(schema, {});
    await g.write(chunk(0));
    await g.write(chunk(3));
    await g.close();
    expect(gunzipSync(readFileSync(gz)).toString('utf8')).toBe(expectedText + expectedText.split('\n').slice(1).join('\n'));
    expect((await readAll(new RxTextData(gz))).rows).toBe(6);

    const noq = outPath();
    const n = await new RxTextData(noq, { quoteMark: '' }).open(schema, {});
    const err = await rejects(n.write(chunk(0)));
    expect(err.code).toBe('RX_ARG');
    expect(err.message).toMatch(/without a quoteMark/);
    await n.abort();
  });

  it("rxImport({ inData: 'a.csv', outFile: 'b.csv' }) round-trips a tricky CSV", async () => {
    const src =
      'id,text,n,when,flag,grp\r\n' +
      '1,"a, b",1.5,2020-01-31,TRUE,x\r\n' +
      '2,"say ""hi""",NA,,FALSE,y\r\n' +
      '3,"line1\nline2",3e-300,1999-12-31,NA,x\r\n' +
      '4,  padded  ,-0,2000-02-29,TRUE,\r\n' +
      '5,,1e300,2024-06-01,FALSE,"q,r"\r\n';
    const inFile = tmpFile(src);
    const outFile = outPath();
    const opts = { dateFormat: '%Y-%m-%d', stringsAsFactors: true } as const;
    await rxImport({ inData: new RxTextData(inFile, opts), outFile, reportProgress: 0 });
    const a = await readAll(new RxTextData(inFile, opts));
    const b = await readAll(new RxTextData(outFile, opts));
    expect(b.names).toEqual(a.names);
    expect(b.cols).toEqual(a.cols);
    expect(a.cols.text).toEqual(['a, b', 'say "hi"', 'line1\nline2', '  padded  ', null]);
    expect(a.cols.n![2]).toBe(3e-300);
    // a second import refuses to overwrite, then appends
    expect((await rejects(rxImport({ inData: inFile, outFile, reportProgress: 0 }))).code).toBe('RX_IO');
    await rxImport({ inData: new RxTextData(inFile, opts), outFile, append: 'rows', reportProgress: 0 });
    expect((await readAll(new RxTextData(outFile, opts))).rows).toBe(10);
  });
});
