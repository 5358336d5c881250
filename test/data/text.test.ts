import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { RxError } from '../../lib/errors.js';
import { RxTextData } from '../../lib/data/text.js';
import { rxOptions } from '../../lib/options.js';
import { cleanup, csvField, readAll, rng, tmpFile } from './text-helpers.js';

afterAll(cleanup);

async function rejects(p: Promise<unknown>): Promise<RxError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(RxError);
    return e as RxError;
  }
  throw new Error('expected a rejection');
}

describe('RxTextData: airline allyears2k sample', () => {
  const file = join(rxOptions().sampleDataDir, 'airline_allyears2k', 'allyears2k_headers.csv');

  it('reads 43,978 rows x 31 columns with the documented counts', async () => {
    // TailNum carries Latin-1 bytes from row 27,987 on: as UTF-8 the read stops there
    await expect(readAll(new RxTextData(file), { rowsPerRead: 50_000 })).rejects.toMatchObject({ code: 'RX_PARSE', row: 27_988, column: 'TailNum' });
    const src = new RxTextData(file, { encodingErrors: 'replace' });
    const schema = await src.schema();
    expect(schema.columns).toHaveLength(31);
    const types = Object.fromEntries(schema.columns.map((c) => [c.name, c.type]));
    expect(types).toMatchObject({ Year: 'int32', ArrDelay: 'int32', UniqueCarrier: 'string', TailNum: 'string', CancellationCode: 'string', IsArrDelayed: 'string' });
    // CarrierDelay is NA for 1987-2002 and numeric later: jump sampling sees the later rows
    expect(types.CarrierDelay).toBe('int32');
    let rows = 0;
    let arrNa = 0;
    let yes = 0;
    for await (const ch of src.chunks({ rowsPerRead: 5000 })) {
      rows += ch.numRows;
      const a = ch.columns.ArrDelay!;
      for (let i = 0; i < ch.numRows; i++) if (a.valid?.[i] === 0) arrNa++;
      const d = ch.columns.IsArrDelayed!.data as string[];
      for (let i = 0; i < ch.numRows; i++) if (d[i] === 'YES') yes++;
    }
    expect(rows).toBe(43_978);
    expect(arrNa).toBe(1_195);
    expect(yes).toBe(24_441);
    expect(await src.numRows()).toBe(43_978);
    // 3,998 TailNum values carry Latin-1 bytes: replaced by U+FFFD and reported
    expect(src.warnings()).toEqual([{ column: 'TailNum', kind: 'encoding', count: 3998, line: 27988, text: expect.stringContaining('N700') }]);
  });

  it("with encoding 'latin1' the TailNum bytes decode as ISO-8859-1 and nothing is reported", async () => {
    const src = new RxTextData(file, { encoding: 'ISO-8859-1' });
    const r = await readAll(src, { columns: ['TailNum'], rowsPerRead: 20_000 });
    expect(r.rows).toBe(43_978);
    expect(src.warnings()).toEqual([]);
    // the same values as decoding each raw field as Latin-1 (no U+FFFD anywhere)
    const raw = readFileSync(file).toString('latin1').split(/\r?\n/).slice(1, 43_979);
    const col = raw[0]!.split(',').length === 31 ? 10 : -1;
    expect(col).toBe(10);
    const want = raw.map((line) => line.split(',')[col]!).map((v) => (v === 'NA' || v === '' ? null : v));
    expect(r.cols.TailNum).toEqual(want);
    const nonAscii = r.cols.TailNum!.filter((v) => typeof v === 'string' && /[^\x00-\x7f]/.test(v));
    expect(nonAscii.length).toBe(3998);
    expect(nonAscii.some((v) => (v as string).includes('\ufffd'))).toBe(false);
  });

  it('reads factors with stringsAsFactors and only requested columns', async () => {
    const src = new RxTextData(file, { stringsAsFactors: true });
    const r = await readAll(src, { columns: ['IsArrDelayed', 'Year'], rowsPerRead: 7000 });
    expect(r.names).toEqual(['IsArrDelayed', 'Year']);
    expect(r.cols.IsArrDelayed!.filter((x) => x === 'YES')).toHaveLength(24_441);
    expect(r.cols.Year![0]).toBe(1987);
    expect(r.cols.Year![43_977]).toBe(2008);
  });
});

describe('RxTextData: encodings', () => {
  // bytes 0x80-0xff plus an ASCII prefix, in a header and a string/factor column
  const high = Uint8Array.from({ length: 128 }, (_, i) => 0x80 + i).filter((b) => b !== 0x22 && b !== 0x2c);
  const body = (cells: Uint8Array) => Buffer.concat([Buffer.from('n\xe9,s,f\n', 'latin1'), ...Array.from(cells, (b, i) => Buffer.concat([Buffer.from(`${i},x`), Buffer.from([b]), Buffer.from(`,L`), Buffer.from([b]), Buffer.from('\n')]))]);

  it("'latin1' maps every byte to the same code point, in the header and in string and factor values", async () => {
    const f = tmpFile(body(high));
    const r = await readAll(new RxTextData(f, { encoding: 'latin1', colClasses: { f: 'factor' } }));
    expect(r.names).toEqual(['né', 's', 'f']);
    expect(r.cols.s).toEqual(Array.from(high, (b) => `x${String.fromCharCode(b)}`));
    expect(r.cols.f).toEqual(Array.from(high, (b) => `L${String.fromCharCode(b)}`));
  });

  it("'windows-1252' follows the WHATWG index (0x80-0x9f are typographic characters)", async () => {
    const f = tmpFile(body(high));
    const src = new RxTextData(f, { encoding: 'cp1252', colClasses: { f: 'factor' } });
    const r = await readAll(src);
    // https://encoding.spec.whatwg.org/index-windows-1252.txt, pointers 0-31 (bytes 0x80-0x9f);
    // bytes 0xa0-0xff are the same code points as Latin-1. (Node 20's TextDecoder decodes
    // 'windows-1252' as Latin-1, so it cannot serve as the reference here.)
    const c1 = [0x20ac, 0x81, 0x201a, 0x192, 0x201e, 0x2026, 0x2020, 0x2021, 0x2c6, 0x2030, 0x160, 0x2039, 0x152, 0x8d, 0x17d, 0x8f, 0x90, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014, 0x2dc, 0x2122, 0x161, 0x203a, 0x153, 0x9d, 0x17e, 0x178];
    const dec = (b: number) => String.fromCodePoint(b < 0xa0 ? c1[b - 0x80]! : b);
    expect(r.cols.s).toEqual(Array.from(high, (b) => `x${dec(b)}`));
    expect(r.cols.f).toEqual(Array.from(high, (b) => `L${dec(b)}`));
    expect((r.cols.s![0] as string).codePointAt(1)).toBe(0x20ac);
    expect(src.warnings()).toEqual([]);
  });

  it('a Latin-1 file read as UTF-8 fails at the first bad value; unknown encodings and non-UTF-8 writing are refused', async () => {
    const f = tmpFile(body(Uint8Array.of(0xe9, 0x41)));
    await expect(readAll(new RxTextData(f))).rejects.toMatchObject({ code: 'RX_PARSE' }); // header 'n\xe9' is not UTF-8
    const g = tmpFile(Buffer.concat([Buffer.from('id,s\n1,a'), Buffer.from([0xe9]), Buffer.from('\n2,b\n')]));
    expect(await rejects(readAll(new RxTextData(g)))).toMatchObject({ code: 'RX_PARSE', row: 2, column: 's' });
    expect((await readAll(new RxTextData(g, { encoding: 'latin1' }))).cols.s).toEqual(['a\u00e9', 'b']);
    expect(() => new RxTextData(g, { encoding: 'ebcdic' })).toThrow(/'utf8', 'latin1' or 'windows-1252'/);
    expect(() => new RxTextData(g, { encodingErrors: 'ignore' as never })).toThrow(/'strict' or 'replace'/);
    await expect(new RxTextData(tmpFile(''), { encoding: 'latin1' }).open({ columns: [], numRows: 0 } as never)).rejects.toMatchObject({ code: 'RX_ARG' });
  });
});

describe('RxTextData: options', () => {
  it('auto-detects the delimiter among , tab ; |', async () => {
    for (const d of [',', '\t', ';', '|']) {
      const f = tmpFile(['a', 'b', 'c'].join(d) + '\n' + ['1', 'x y', '2.5'].join(d) + '\n' + ['2', 'z', '3'].join(d) + '\n');
      const r = await readAll(new RxTextData(f));
      expect(r.names).toEqual(['a', 'b', 'c']);
      expect(r.cols).toEqual({ a: [1, 2], b: ['x y', 'z'], c: [2.5, 3] });
    }
  });

  it('detects a header or uses V1..Vn, and honours firstRowIsColumnNames', async () => {
    const f = tmpFile('1,2\n3,4\n');
    const r = await readAll(new RxTextData(f));
    expect(r.names).toEqual(['V1', 'V2']);
    expect(r.cols.V1).toEqual([1, 3]);
    const g = tmpFile('x,y\nu,v\n');
    expect((await readAll(new RxTextData(g))).names).toEqual(['x', 'y']);
    const h = await readAll(new RxTextData(g, { firstRowIsColumnNames: false }));
    expect(h.cols).toEqual({ V1: ['x', 'u'], V2: ['y', 'v'] });
    const k = await readAll(new RxTextData(f, { firstRowIsColumnNames: true }));
    expect(k.names).toEqual(['1', '2']);
    expect(k.cols['1']).toEqual([3]);
  });

  it('applies colClasses to every supported type', async () => {
    const f = tmpFile('n,i,c,f,l,d,t,f32,i16,u8\n1.5,2,abc,lv,TRUE,2020-02-29,2020-01-01 12:30:15,0.25,-7,200\n-2,3,,lw,F,1970-01-02,1970-01-01T00:00:01.5Z,NA,300,256\n');
    const src = new RxTextData(f, {
      colClasses: { n: 'numeric', i: 'integer', c: 'character', f: 'factor', l: 'logical', d: 'Date', t: 'POSIXct', f32: 'float32', i16: 'int16', u8: 'uint8' },
    });
    const schema = await src.schema();
    expect(schema.columns.map((c) => c.type)).toEqual(['float64', 'int32', 'string', 'factor', 'bool', 'date', 'timestamp', 'float32', 'int16', 'uint8']);
    const r = await readAll(src);
    expect(r.cols).toEqual({
      n: [1.5, -2],
      i: [2, 3],
      c: ['abc', null],
      f: ['lv', 'lw'],
      l: [true, false],
      d: [Date.UTC(2020, 1, 29) / 86_400_000, 1],
      t: [Date.UTC(2020, 0, 1, 12, 30, 15), 1500],
      f32: [0.25, null],
      i16: [-7, 300],
      u8: [200, null], // 256 does not fit uint8: missing, counted
    });
    expect(src.warnings()).toEqual([{ column: 'u8', kind: 'conversion', count: 1, line: 3, text: '256' }]);
  });

  it('reads colInfo: levels, newLevels, newName, description, low/high; unknown levels -> NA counted', async () => {
    const f = tmpFile('grade,score\nA,1\nB,2\nC,3\nA,4\nZ,5\n');
    const src = new RxTextData(f, {
      colInfo: {
        grade: { type: 'factor', levels: ['A', 'B', 'C'], newLevels: ['good', 'ok', 'bad'], newName: 'Grade', description: 'letter grade' },
        score: { type: 'numeric', low: 0, high: 10 },
      },
    });
    const s = await src.schema();
    expect(s.columns).toEqual([
      { name: 'Grade', type: 'factor', levels: ['good', 'ok', 'bad'], description: 'letter grade' },
      { name: 'score', type: 'float64', low: 0, high: 10 },
    ]);
    const r = await readAll(src);
    expect(r.cols.Grade).toEqual(['good', 'ok', 'bad', 'good', null]);
    expect(src.warnings()).toEqual([{ column: 'Grade', kind: 'level', count: 1, line: 6, text: 'Z' }]);
    const strict = new RxTextData(f, { strict: true, colInfo: { grade: { levels: ['A', 'B', 'C'] } } });
    const e = await rejects(readAll(strict));
    expect(e).toMatchObject({ code: 'RX_PARSE', row: 6, column: 'grade', text: 'Z' });
  });

  it('treats empty fields and missingValueString as missing', async () => {
    const f = tmpFile('a,b,c\n1,,x\n-99,2,\nNA,3,-99\n');
    let r = await readAll(new RxTextData(f));
    expect(r.cols).toEqual({ a: [1, -99, null], b: [null, 2, 3], c: ['x', null, '-99'] });
    r = await readAll(new RxTextData(f, { missingValueString: '-99' }));
    // "NA" is no longer missing, so column a becomes a string column
    expect(r.cols).toEqual({ a: ['1', null, 'NA'], b: [null, 2, 3], c: ['x', null, null] });
    r = await readAll(new RxTextData(f, { missingValueString: ['-99', 'NA'] }));
    expect(r.cols.a).toEqual([1, null, null]);
  });

  it('stringsAsFactors gives factors with levels in order of appearance, stable across chunks', async () => {
    const lines = ['k,v'];
    const letters = ['q', 'b', 'q', 'z', 'a', 'b', 'm', 'q', 'y'];
    for (const [i, l] of letters.entries()) lines.push(`${l},${i}`);
    const f = tmpFile(`${lines.join('\n')}\n`);
    for (const rowsPerRead of [1, 2, 4, 100]) {
      const src = new RxTextData(f, { stringsAsFactors: true });
      const r = await readAll(src, { rowsPerRead });
      expect(r.cols.k).toEqual(letters);
      let last: string[] = [];
      for await (const ch of src.chunks({ rowsPerRead })) last = ch.columns.k!.levels!;
      expect(last).toEqual(['q', 'b', 'z', 'a', 'm', 'y']);
    }
  });

  it('rowsToSkip, decimalPoint, thousandsSeparator', async () => {
    const f = tmpFile('# comment line\n# another\nx;y\n"1.234,5";2,25\n7;-0,5\n');
    const r = await readAll(new RxTextData(f, { rowsToSkip: 2, delimiter: ';', decimalPoint: ',', thousandsSeparator: '.' }));
    expect(r.cols).toEqual({ x: [1234.5, 7], y: [2.25, -0.5] });
  });

  it('dateFormat: %m/%d/%Y and %d %b %Y detect Date columns', async () => {
    const f = tmpFile('when,n\n02/29/2020,1\n12/31/1969,2\n');
    const src = new RxTextData(f, { dateFormat: '%m/%d/%Y' });
    expect((await src.schema()).columns[0]!.type).toBe('date');
    expect((await readAll(src)).cols.when).toEqual([18_321, -1]);
    const g = tmpFile('when\n03 Feb 2021\n1 january 2000\n');
    const r = await readAll(new RxTextData(g, { dateFormat: '%d %b %Y' }));
    expect(r.cols.when).toEqual([Date.UTC(2021, 1, 3) / 86_400_000, Date.UTC(2000, 0, 1) / 86_400_000]);
    // an impossible date is a conversion conflict
    const h = tmpFile('when\n2021-01-01\n2021-02-30\n');
    const src2 = new RxTextData(h, { colClasses: { when: 'Date' } });
    expect((await readAll(src2)).cols.when).toEqual([18_628, null]);
    expect(src2.warnings()[0]).toMatchObject({ column: 'when', kind: 'conversion', count: 1, line: 3, text: '2021-02-30' });
  });

  it('quoteMark: a custom quote character and no quoting', async () => {
    const f = tmpFile("a,b\n'x,y',1\n'it''s',2\n");
    const r = await readAll(new RxTextData(f, { quoteMark: "'" }));
    expect(r.cols).toEqual({ a: ['x,y', "it's"], b: [1, 2] });
    const g = tmpFile('a\n"q"\n');
    expect((await readAll(new RxTextData(g, { quoteMark: '' }))).cols.a).toEqual(['"q"']);
  });

  it('type sniffing widens int -> float -> string; later conflicts become NA with a count, or RX_PARSE when strict', async () => {
    // rows 1-3 are sniffed; row 4 (line 5) conflicts; the filler rows keep jump samples away from it
    const filler = Array.from({ length: 300 }, (_, i) => `${i},${i},${i}`).join('\n');
    const f = tmpFile(`a,b,c\n1,1,1\n2,2.5,x\n3,3,3\n4.5,abc,4\n${filler}\n`);
    const src = new RxTextData(f, { rowsToSniff: 3 });
    const s = await src.schema();
    expect(s.columns.map((c) => c.type)).toEqual(['int32', 'float64', 'string']);
    const r = await readAll(src);
    expect(r.rows).toBe(304);
    expect(r.cols.a!.slice(0, 5)).toEqual([1, 2, 3, null, 0]);
    expect(r.cols.b!.slice(0, 5)).toEqual([1, 2.5, 3, null, 0]);
    expect(r.cols.c!.slice(0, 5)).toEqual(['1', 'x', '3', '4', '0']);
    expect(src.warnings()).toEqual([
      { column: 'a', kind: 'conversion', count: 1, line: 5, text: '4.5' },
      { column: 'b', kind: 'conversion', count: 1, line: 5, text: 'abc' },
    ]);
    const e = await rejects(readAll(new RxTextData(f, { rowsToSniff: 3, strict: true })));
    expect(e).toMatchObject({ code: 'RX_PARSE', file: f, row: 5, column: 'a', text: '4.5' });
    expect(e.message).toContain(`${f}:5, column "a"`);
  });

  it('samples rows through the file, so a column empty at the start takes its later type', async () => {
    const head = Array.from({ length: 2000 }, (_, i) => `${i},NA`).join('\n');
    const tail = Array.from({ length: 2000 }, (_, i) => `${i},code${i % 5}`).join('\n');
    const src = new RxTextData(tmpFile(`id,code\n${head}\n${tail}\n`), { rowsToSniff: 100 });
    expect((await src.schema()).columns[1]!.type).toBe('string');
    const r = await readAll(src);
    expect(r.cols.code![3999]).toBe('code4');
    expect(src.warnings()).toEqual([]);
  });

  it('startRow / numRows / columns', async () => {
    const body = Array.from({ length: 50 }, (_, i) => `${i},${i % 3 === 0 ? 'x' : 'y'}`).join('\n');
    const f = tmpFile(`id,s\n${body}\n`);
    const r = await readAll(new RxTextData(f, { blockSize: 64 }), { startRow: 7, numRows: 20, rowsPerRead: 6, columns: ['id'] });
    expect(r.chunks).toEqual([6, 6, 6, 2]);
    expect(r.cols.id).toEqual(Array.from({ length: 20 }, (_, i) => i + 7));
    expect(r.names).toEqual(['id']);
    await expect(readAll(new RxTextData(f), { columns: ['nope'] })).rejects.toMatchObject({ code: 'RX_SCHEMA', column: 'nope' });
  });

  it('rejects bad options with RX_ARG', () => {
    expect(() => new RxTextData('x.csv', { delimiter: ',,' })).toThrow(expect.objectContaining({ code: 'RX_ARG' }));
    expect(() => new RxTextData('x.csv', { encoding: 'utf16' })).toThrow(expect.objectContaining({ code: 'RX_ARG' }));
    expect(() => new RxTextData('x.csv', { colClasses: { a: 'complex' as never } })).toThrow(/colClasses\.a/);
    expect(() => new RxTextData('x.csv', { colInfo: { a: { levels: ['x'], newLevels: ['p', 'q'] } } })).toThrow(/newLevels/);
    expect(() => new RxTextData('x.csv', { rowsPerRead: 0 })).toThrow(/rowsPerRead/);
  });

  it('reports colClasses names that are not columns', async () => {
    const f = tmpFile('a,b\n1,2\n');
    await expect(new RxTextData(f, { colClasses: { c: 'numeric' } }).schema()).rejects.toMatchObject({ code: 'RX_SCHEMA', column: 'c' });
  });
});

describe('RxTextData: quoting, line endings, BOM, gzip', () => {
  const tricky = 'id,text,n\r\n1,"a, b",1.5\r\n2,"say ""hi""",2\r\n3,"line1\r\nline2\nline3",3\r\n4,plain,4\r\n5,"",5\r\n';
  const expected = { id: [1, 2, 3, 4, 5], text: ['a, b', 'say "hi"', 'line1\r\nline2\nline3', 'plain', null], n: [1.5, 2, 3, 4, 5] };

  it('handles embedded delimiters, doubled quotes, newlines and CRLF', async () => {
    const r = await readAll(new RxTextData(tmpFile(tricky)));
    expect(r.cols).toEqual(expected);
  });

  it('skips a UTF-8 BOM and reads non-ASCII text', async () => {
    const f = tmpFile(`\ufeffnom,v\nZoë,1\n東京,2\n`);
    const r = await readAll(new RxTextData(f));
    expect(r.names).toEqual(['nom', 'v']);
    expect(r.cols.nom).toEqual(['Zoë', '東京']);
  });

  it('reads gzip input detected by magic bytes, streamed in blocks', async () => {
    const f = tmpFile(tricky, { gz: true });
    expect((await readAll(new RxTextData(f))).cols).toEqual(expected);
    const g = tmpFile(tricky, { gz: true, ext: '.data' });
    expect((await readAll(new RxTextData(g, { blockSize: 32 }), { rowsPerRead: 2 })).cols).toEqual(expected);
    expect((await new RxTextData(g).schema()).metadata?.compression).toBe('gzip');
  });

  it('gives identical data for rowsPerRead 1..7, tiny blocks and forced thread splits', async () => {
    const before = rxOptions().numThreads;
    try {
      for (const threads of [1, 3]) {
        rxOptions({ numThreads: threads });
        for (let rowsPerRead = 1; rowsPerRead <= 7; rowsPerRead++) {
          for (const blockSize of [16, 40, 1 << 20]) {
            const r = await readAll(new RxTextData(tmpFile(tricky), { blockSize, minBytesPerThread: 1 }), { rowsPerRead });
            expect(r.cols).toEqual(expected);
            expect(r.chunks.every((c, i) => c === rowsPerRead || i === r.chunks.length - 1)).toBe(true);
          }
        }
      }
    } finally {
      rxOptions({ numThreads: before });
    }
  });

  it('random quoted data: every split of blocks and threads gives the same values (also with stray quotes)', async () => {
    const rand = rng(42);
    const pieces = ['a', 'b,c', 'd"e', 'x\ny', '', 'NA', 'z z', 'é', '\r\n'];
    const rows: Array<[number, string | null, number | null, string | null]> = [];
    const lines = ['i,s,x,f'];
    for (let i = 0; i < 400; i++) {
      let s = '';
      const k = Math.floor(rand() * 3);
      for (let q = 0; q < k; q++) s += pieces[Math.floor(rand() * pieces.length)];
      const x = rand() < 0.1 ? null : Math.round(rand() * 1e6) / 100;
      const f = rand() < 0.1 ? null : ['lo', 'mid', 'hi', 'x,y'][Math.floor(rand() * 4)]!;
      rows.push([i, s === '' || s === 'NA' ? null : s, x, f]);
      lines.push([String(i), s === 'NA' ? 'NA' : csvField(s), x === null ? '' : String(x), f === null ? 'NA' : csvField(f)].join(','));
    }
    // a stray quote inside an unquoted field breaks quote parity: the parser must notice
    lines.push('400,ab"c,1,lo');
    rows.push([400, 'ab"c', 1, 'lo']);
    const text = `${lines.join('\n')}\n`;
    const expected = {
      i: rows.map((r) => r[0]),
      s: rows.map((r) => r[1]),
      x: rows.map((r) => r[2]),
      f: rows.map((r) => r[3]),
    };
    const before = rxOptions().numThreads;
    try {
      for (const threads of [1, 2, 5]) {
        rxOptions({ numThreads: threads });
        for (const blockSize of [64, 1000, 1 << 20]) {
          const src = new RxTextData(tmpFile(text), { blockSize, minBytesPerThread: 7, stringsAsFactors: false, colClasses: { f: 'factor' } });
          const r = await readAll(src, { rowsPerRead: 33 });
          expect(r.cols).toEqual(expected);
        }
      }
    } finally {
      rxOptions({ numThreads: before });
    }
  });
});

describe('RxTextData: bad input', () => {
  it('ragged rows: RX_PARSE with the line', async () => {
    const f = tmpFile('a,b\n1,2\n3,4\n5\n6,7\n');
    const e = await rejects(readAll(new RxTextData(f, { rowsToSniff: 2 })));
    expect(e).toMatchObject({ code: 'RX_PARSE', file: f, row: 4, text: '5' });
    expect(e.message).toMatch(/1 fields but .* 2/);
    // found while sniffing too
    await expect(new RxTextData(f).schema()).rejects.toMatchObject({ code: 'RX_PARSE', row: 4 });
  });

  it('unterminated quote: RX_PARSE with the line where the field starts', async () => {
    const f = tmpFile('a,b\n1,2\n3,"open\n4,5\n');
    await expect(readAll(new RxTextData(f, { rowsToSniff: 1 }))).rejects.toMatchObject({ code: 'RX_PARSE', row: 3, message: expect.stringMatching(/unterminated/) });
    await expect(readAll(new RxTextData(f, { rowsToSniff: 1, blockSize: 16 }))).rejects.toMatchObject({ code: 'RX_PARSE', row: 3 });
    await expect(new RxTextData(f).schema()).rejects.toMatchObject({ code: 'RX_PARSE', row: 3 });
  });

  it("invalid UTF-8: RX_PARSE with file, line and column by default and in the header; U+FFFD and a count with encodingErrors 'replace'", async () => {
    const bad = Buffer.concat([Buffer.from('name,v\nok,1\nb'), Buffer.from([0xc3, 0x28]), Buffer.from('d,2\n')]);
    const f = tmpFile(bad);
    await expect(readAll(new RxTextData(f))).rejects.toMatchObject({ code: 'RX_PARSE', file: f, row: 3, column: 'name', message: expect.stringContaining("encoding: 'latin1'") });
    const src = new RxTextData(f, { encodingErrors: 'replace' });
    expect((await readAll(src)).cols.name).toEqual(['ok', 'b\ufffd(d']);
    expect(src.warnings()).toEqual([{ column: 'name', kind: 'encoding', count: 1, line: 3, text: expect.any(String) }]);
    const h = tmpFile(Buffer.concat([Buffer.from('n'), Buffer.from([0xff]), Buffer.from('me,v\nx,1\n')]));
    await expect(new RxTextData(h).schema()).rejects.toMatchObject({ code: 'RX_PARSE', row: 1 });
  });

  it('empty file and blank-only file: RX_PARSE', async () => {
    for (const content of ['', '\n\r\n\n', '\ufeff']) {
      const f = tmpFile(content);
      await expect(new RxTextData(f).schema()).rejects.toMatchObject({ code: 'RX_PARSE', file: f, row: 1 });
    }
  });

  it('header only: 0 rows and a known schema', async () => {
    const f = tmpFile('a,b,c\n');
    const src = new RxTextData(f);
    const s = await src.schema();
    expect(s.columns.map((c) => c.name)).toEqual(['a', 'b', 'c']);
    expect(s.numRows).toBe(0);
    const r = await readAll(src);
    expect(r.rows).toBe(0);
    expect(r.chunks).toEqual([]);
  });

  it('duplicate column names: RX_SCHEMA naming the column', async () => {
    const f = tmpFile('a,b,a\nx,y,z\n');
    await expect(new RxTextData(f).schema()).rejects.toMatchObject({ code: 'RX_SCHEMA', column: 'a', file: f });
    // a newName that collides is caught too
    const g = tmpFile('a,b\nx,y\n');
    await expect(new RxTextData(g, { colInfo: { b: { newName: 'a' } } }).schema()).rejects.toMatchObject({ code: 'RX_SCHEMA', column: 'a' });
  });

  it('gzip that ends early: RX_IO', async () => {
    const rows = Array.from({ length: 2000 }, (_, i) => `${i},${(i * 7919) % 1000},row${i}`).join('\n');
    const full = tmpFile(`a,b,c\n${rows}\n`, { gz: true });
    const { readFileSync } = await import('node:fs');
    const bytes = readFileSync(full);
    const cut = tmpFile(bytes.subarray(0, Math.floor(bytes.length * 0.6)), { ext: '.csv.gz' });
    await expect(readAll(new RxTextData(cut))).rejects.toMatchObject({ code: 'RX_IO', file: cut });
  });

  it('a missing file: RX_IO', async () => {
    await expect(new RxTextData('/nonexistent/x.csv').schema()).rejects.toMatchObject({ code: 'RX_IO', file: '/nonexistent/x.csv' });
  });
});

describe('RxTextData: line ends, blank lines, row cap, string paths', () => {
  it('a lone CR ends a row (old Mac files); CR inside quotes is data', async () => {
    const f = tmpFile('a,b\r1,x\r2,"p\rq"\r3,z');
    const r = await readAll(new RxTextData(f));
    expect(r.cols).toEqual({ a: [1, 2, 3], b: ['x', 'p\rq', 'z'] });
    // and through tiny blocks, where a CR may be the last byte of a block
    const r2 = await readAll(new RxTextData(f, { blockSize: 16 }), { rowsPerRead: 1 });
    expect(r2.cols).toEqual(r.cols);
  });

  it('skips blank lines, also ones holding only spaces or tabs', async () => {
    const f = tmpFile('a,b\n1,x\n   \n\t\n\n2,y\n \t \n');
    const r = await readAll(new RxTextData(f));
    expect(r.rows).toBe(2);
    expect(r.cols).toEqual({ a: [1, 2], b: ['x', 'y'] });
  });

  it('a row longer than maxRowBytes: RX_PARSE naming the limit and the line', async () => {
    const long = 'x'.repeat(5000);
    const f = tmpFile(`a,b\n1,short\n2,${long}\n3,end\n`);
    const e = await rejects(readAll(new RxTextData(f, { blockSize: 256, maxRowBytes: 1024, rowsToSniff: 1 })));
    expect(e.code).toBe('RX_PARSE');
    expect(e.message).toMatch(/maxRowBytes \(1024 bytes/);
    expect(e.message).toContain(`${f}:3`);
    // the default cap (64 MiB) reads it, growing the block as needed
    const r = await readAll(new RxTextData(f, { blockSize: 256 }));
    expect(r.cols.b).toEqual(['short', long, 'end']);
    expect(() => new RxTextData(f, { maxRowBytes: 0 })).toThrow(/maxRowBytes/);
  });

  it('string columns: many distinct values, few repeated ones, non-ASCII and NA agree across chunkings and threads', async () => {
    const r = rng(7);
    const many: Array<string | null> = [];
    const few: Array<string | null> = [];
    const lines = ['id,many,few'];
    for (let i = 0; i < 12_000; i++) {
      const m = r() < 0.05 ? null : i % 3 === 0 ? `é${i}` : `v${i}_${Math.floor(r() * 1e6)}`;
      const w = r() < 0.1 ? null : ['alpha', 'beta', 'Zoë', '東京', 'x, y'][Math.floor(r() * 5)]!;
      many.push(m);
      few.push(w);
      lines.push(`${i},${m === null ? 'NA' : m},${w === null ? '' : csvField(w)}`);
    }
    const f = tmpFile(`${lines.join('\n')}\n`);
    const want = { id: many.map((_, i) => i), many, few };
    for (const [opts, rowsPerRead] of [
      [{}, 100_000],
      [{ blockSize: 4096 }, 777],
      [{ minBytesPerThread: 1000 }, 5000],
    ] as const) {
      const got = await readAll(new RxTextData(f, opts), { rowsPerRead });
      expect(got.cols).toEqual(want);
      expect(got.chunks.slice(0, -1).every((n) => n === rowsPerRead)).toBe(true);
    }
  });

  it('a consumer that stops early (while the next chunk is being built) leaves the source reusable', async () => {
    const f = tmpFile(`a,s\n${Array.from({ length: 5000 }, (_, i) => `${i},v${i % 7}`).join('\n')}\n`);
    const src = new RxTextData(f, { blockSize: 1024 });
    for await (const ch of src.chunks({ rowsPerRead: 100 })) {
      expect(ch.numRows).toBe(100);
      break;
    }
    const r = await readAll(src, { rowsPerRead: 999 });
    expect(r.rows).toBe(5000);
    expect(r.cols.s![4999]).toBe(`v${4999 % 7}`);
  });

  it('chunks own their typed arrays and have exactly rowsPerRead rows', async () => {
    const f = tmpFile(`a,b\n${Array.from({ length: 1000 }, (_, i) => `${i},${i * 0.5}`).join('\n')}\n`);
    const sizes: number[] = [];
    for await (const ch of new RxTextData(f).chunks({ rowsPerRead: 300 })) {
      sizes.push(ch.numRows);
      expect(ch.owned).toBe(true);
      const a = ch.columns.a!.data as Int32Array;
      expect(a.length).toBe(ch.numRows);
      expect(a[0]).toBe(ch.startRow);
    }
    expect(sizes).toEqual([300, 300, 300, 100]);
  });
});
