import { describe, expect, it } from 'vitest';
import { RxMemoryData } from '../../lib/data/memory.js';
import type { Chunk, Column } from '../../lib/data/types.js';
import { RxError } from '../../lib/errors.js';
import { deparse, evalExpr, exprColumns, inferExprType, parseExpr } from '../../lib/expr/index.js';

async function chunkOf(table: Record<string, unknown>, opts: { stringsAsFactors?: boolean } = {}): Promise<Chunk> {
  const d = new RxMemoryData(table as never, opts);
  for await (const ch of d.chunks()) return ch;
  throw new Error('no chunk');
}

/** Column -> plain JS values (null for missing). */
function values(c: Column): unknown[] {
  const n = (c.data as ArrayLike<unknown>).length;
  const out: unknown[] = [];
  for (let i = 0; i < n; i++) {
    if (c.valid && c.valid[i] === 0) out.push(null);
    else if (c.type === 'float64') {
      const x = (c.data as Float64Array)[i]!;
      out.push(Number.isNaN(x) ? null : x);
    } else if (c.type === 'bool') out.push((c.data as Uint8Array)[i] === 1);
    else if (c.type === 'factor') out.push(c.levels![(c.data as Int32Array)[i]!]);
    else out.push((c.data as unknown[])[i]);
  }
  return out;
}

function expectExprError(text: string, pos: number, reason: RegExp): void {
  try {
    parseExpr(text);
  } catch (e) {
    expect(e).toBeInstanceOf(RxError);
    expect((e as RxError).code).toBe('RX_EXPR');
    expect((e as RxError).message).toContain(`at position ${pos}`);
    expect((e as RxError).message).toContain(`"${text}"`);
    expect((e as RxError).message).toMatch(reason);
    return;
  }
  throw new Error(`expected a parse error for ${text}`);
}

describe('parseExpr', () => {
  it('follows R precedence', () => {
    expect(deparse(parseExpr('-2^2'))).toBe('-2^2');
    const n = parseExpr('-2^2');
    expect(n.type).toBe('unary');
    const p = parseExpr('a + b * c ^ d ^ e');
    expect(p).toMatchObject({ type: 'binary', op: '+', right: { op: '*', right: { op: '^', left: { name: 'c' }, right: { op: '^' } } } });
    // ! binds looser than comparison: !a == b is !(a == b)
    expect(parseExpr('!a == b')).toMatchObject({ type: 'unary', op: '!', arg: { type: 'binary', op: '==' } });
    // & binds tighter than |
    expect(parseExpr('a | b & c')).toMatchObject({ op: '|', right: { op: '&' } });
    // %in% binds tighter than *
    expect(parseExpr('a * b %in% c(1, 2)')).toMatchObject({ op: '*', right: { op: '%in%' } });
    // left associativity of - and /
    expect(parseExpr('a - b - c')).toMatchObject({ op: '-', left: { op: '-' } });
    expect(parseExpr('a / b / c')).toMatchObject({ op: '/', left: { op: '/' } });
    expect(parseExpr('a:b')).toMatchObject({ op: ':' });
  });

  it('reads literals, names and calls', () => {
    expect(parseExpr('1.5e3')).toMatchObject({ type: 'num', value: 1500 });
    expect(parseExpr('.5')).toMatchObject({ type: 'num', value: 0.5 });
    expect(parseExpr('0x1F')).toMatchObject({ type: 'num', value: 31 });
    expect(parseExpr('3L')).toMatchObject({ type: 'num', value: 3, integer: true });
    expect(parseExpr("'it\\'s'")).toMatchObject({ type: 'str', value: "it's" });
    expect(parseExpr('"a\\tb"')).toMatchObject({ type: 'str', value: 'a\tb' });
    expect(parseExpr('`odd name` + 1')).toMatchObject({ left: { type: 'name', name: 'odd name', quoted: true } });
    expect(parseExpr('NA')).toMatchObject({ type: 'const', name: 'NA' });
    expect(parseExpr('TRUE')).toMatchObject({ type: 'const', name: 'TRUE' });
    expect(parseExpr('factor(x, levels = c("a", "b"))')).toMatchObject({
      type: 'call',
      fn: 'factor',
      args: [{ value: { name: 'x' } }, { name: 'levels', value: { fn: 'c' } }],
    });
    expect(parseExpr('my.var_2 > 0')).toMatchObject({ left: { name: 'my.var_2' } });
  });

  it('is JSON-serialisable and deparses like R', () => {
    const e = parseExpr('ifelse(x > 1 & !is.na(y), log(x)/2, -1)');
    const round = JSON.parse(JSON.stringify(e));
    expect(round).toEqual(e);
    expect(deparse(e)).toBe('ifelse(x > 1 & !is.na(y), log(x)/2, -1)');
    expect(deparse(parseExpr('`a b` %in% c("x", "y")'))).toBe('`a b` %in% c("x", "y")');
    expect(deparse(parseExpr('I((x + 1)^2)'))).toBe('I((x + 1)^2)');
  });

  it('reports the position and reason of syntax errors', () => {
    expectExprError('x + * 2', 5, /unexpected "\*"/);
    expectExprError('log(x', 6, /missing "\)"/);
    expectExprError('x > 1 2', 7, /missing operator/);
    expectExprError('"abc', 1, /unterminated string/);
    expectExprError('a < b < c', 7, /cannot be chained/);
    expectExprError('x $ y', 3, /not supported/);
    expectExprError('function(x) x', 1, /not supported/);
    expectExprError('x %o% y', 3, /not supported/);
    expectExprError('', 1, /empty expression/);
    expectExprError('f(a, , b)', 6, /empty argument/);
    expectExprError('x <- 1', 3, /not supported/);
    expectExprError('1i', 1, /complex/);
  });

  it('lists referenced names', () => {
    expect(exprColumns('ifelse(a > b, log(c), `d e`) + a').sort()).toEqual(['a', 'b', 'c', 'd e']);
  });
});

describe('evalExpr', () => {
  it('does arithmetic with R semantics', async () => {
    const ch = await chunkOf({ x: [1, 2, null, -7], y: [2, 0, 1, 3] });
    expect(values(evalExpr('x + y * 2', ch))).toEqual([5, 2, null, -1]);
    expect(values(evalExpr('x / y', ch))).toEqual([0.5, Number.POSITIVE_INFINITY, null, -7 / 3]);
    expect(values(evalExpr('x %% 3', ch))).toEqual([1, 2, null, 2]); // R: -7 %% 3 == 2
    expect(values(evalExpr('x %/% 3', ch))).toEqual([0, 0, null, -3]);
    expect(values(evalExpr('-x^2', ch))).toEqual([-1, -4, null, -49]);
    expect(values(evalExpr('2^-1 + 0*x', ch))).toEqual([0.5, 0.5, null, 0.5]);
    expect(values(evalExpr('x^0', ch))).toEqual([1, 1, 1, 1]); // R: NA^0 == 1
    expect(values(evalExpr('abs(x) + sqrt(4) + exp(0) + log(exp(1)) + log10(100) + log2(8)', ch))).toEqual([10, 11, null, 16]);
    expect(values(evalExpr('log(8, base = 2) + floor(-1.5) + ceiling(1.2) + trunc(-1.7) + sign(x)', ch))).toEqual([3, 3, null, 1]);
    expect(values(evalExpr('pmin(x, y)', ch))).toEqual([1, 0, null, -7]);
    expect(values(evalExpr('pmax(x, y, na.rm = TRUE)', ch))).toEqual([2, 2, 1, 3]);
  });

  it('rounds like R (half to even, closest representable candidate)', async () => {
    const ch = await chunkOf({ x: [0.5, 1.5, 2.5, -0.5, 0.15, 2.675, 1234.5678] });
    expect(values(evalExpr('round(x)', ch))).toEqual([0, 2, 2, -0, 0, 3, 1235]);
    expect(values(evalExpr('round(x, 1)', ch))).toEqual([0.5, 1.5, 2.5, -0.5, 0.1, 2.7, 1234.6]);
    expect(values(evalExpr('round(x, 2)', ch)).slice(5)).toEqual([2.67, 1234.57]);
    expect(values(evalExpr('round(x, -2)', ch)).slice(6)).toEqual([1200]);
    expect(values(evalExpr('signif(x, 2)', ch)).slice(6)).toEqual([1200]);
  });

  it('propagates NA through logic like R', async () => {
    // every combination of TRUE / FALSE / NA
    const ch = await chunkOf({
      a: [true, true, true, false, false, false, null, null, null],
      b: [true, false, null, true, false, null, true, false, null],
    });
    expect(values(evalExpr('a & b', ch))).toEqual([true, false, null, false, false, false, null, false, null]);
    expect(values(evalExpr('a | b', ch))).toEqual([true, true, true, true, false, null, true, null, null]);
    expect(values(evalExpr('!a', ch))).toEqual([false, false, false, true, true, true, null, null, null]);
    expect(values(evalExpr('a && b', ch))).toEqual(values(evalExpr('a & b', ch)));
    expect(values(evalExpr('xor(a, b)', ch))).toEqual([false, true, null, true, false, null, null, null, null]);
    expect(values(evalExpr('is.na(a)', ch))).toEqual([false, false, false, false, false, false, true, true, true]);
    expect(values(evalExpr('NA & FALSE', ch))).toEqual(new Array(9).fill(false));
    expect(values(evalExpr('NA | TRUE', ch))).toEqual(new Array(9).fill(true));
  });

  it('compares numbers, strings and factors', async () => {
    const ch = await chunkOf({ x: [1, 2, null, 4], f: ['a', 'b', 'a', null], s: ['b', 'b', 'c', 'a'] });
    const ch2 = await chunkOf({ s: ['b', 'b', 'c', null] }, { stringsAsFactors: false });
    ch.columns['str'] = ch2.columns['s']!;
    ch.names.push('str');
    expect(values(evalExpr('x >= 2', ch))).toEqual([false, true, null, true]);
    expect(values(evalExpr('x != 2', ch))).toEqual([true, false, null, true]);
    expect(values(evalExpr('f == "a"', ch))).toEqual([true, false, true, null]);
    expect(values(evalExpr('"a" != f', ch))).toEqual([false, true, false, null]);
    expect(values(evalExpr('f == s', ch))).toEqual([false, true, false, null]);
    expect(values(evalExpr('str == "b"', ch))).toEqual([true, true, false, null]);
    expect(values(evalExpr('str < "c"', ch))).toEqual([true, true, false, null]);
    expect(values(evalExpr('f %in% c("b", "z")', ch))).toEqual([false, true, false, false]);
    expect(values(evalExpr('x %in% c(1, 4)', ch))).toEqual([true, false, false, true]);
    expect(values(evalExpr('x %in% c(1, NA)', ch))).toEqual([true, false, true, false]);
    expect(values(evalExpr('x %in% 2:4', ch))).toEqual([false, true, false, true]);
    expect(values(evalExpr('str %in% c("c", NA)', ch))).toEqual([false, false, true, true]);
  });

  it('evaluates ifelse, is.na and type conversions', async () => {
    const ch = await chunkOf({ x: [1.5, null, -2, 100000], f: ['10', '2', null, 'x'] });
    expect(values(evalExpr('ifelse(is.na(x), 0, x)', ch))).toEqual([1.5, 0, -2, 100000]);
    expect(values(evalExpr('ifelse(x > 0, "pos", "neg")', ch))).toEqual(['pos', null, 'neg', 'pos']);
    expect(values(evalExpr('ifelse(x > 0, f, "neg")', ch))).toEqual(['10', null, 'neg', 'x']);
    expect(values(evalExpr('as.numeric(as.character(f))', ch))).toEqual([10, 2, null, null]);
    expect(values(evalExpr('as.numeric(f)', ch))).toEqual([1, 2, null, 3]); // codes, as in R (levels "10","2","x")
    expect(values(evalExpr('as.integer(x)', ch))).toEqual([1, null, -2, 100000]);
    expect(values(evalExpr('as.character(x)', ch))).toEqual(['1.5', null, '-2', '1e+05']);
    expect(values(evalExpr('as.character(x / 3)', ch))).toEqual(['0.5', null, '-0.666666666666667', '33333.3333333333']);
    expect(values(evalExpr('as.logical(x)', ch))).toEqual([true, null, true, true]);
  });

  it('builds factors with levels and labels, and cuts', async () => {
    const ch = await chunkOf({ x: [1, 5, 10, null, 0, 10.5], g: ['lo', 'hi', 'mid', 'hi', null, 'zz'] });
    const f = evalExpr('factor(g, levels = c("lo", "mid", "hi"))', ch);
    expect(f.type).toBe('factor');
    expect(f.levels).toEqual(['lo', 'mid', 'hi']);
    expect(values(f)).toEqual(['lo', 'hi', 'mid', 'hi', null, null]);
    const l = evalExpr('factor(g, levels = c("lo", "mid", "hi"), labels = c("L", "M", "M"))', ch);
    expect(l.levels).toEqual(['L', 'M']);
    expect(values(l)).toEqual(['L', 'M', 'M', 'M', null, null]);
    const fx = evalExpr('factor(x)', ch);
    expect(fx.levels).toEqual(['0', '1', '5', '10', '10.5']);
    expect(values(fx)).toEqual(['1', '5', '10', null, '0', '10.5']);
    const c = evalExpr('cut(x, breaks = c(0, 5, 10))', ch);
    expect(c.levels).toEqual(['(0,5]', '(5,10]']);
    expect(values(c)).toEqual(['(0,5]', '(0,5]', '(5,10]', null, null, null]);
    const c2 = evalExpr('cut(x, c(0, 5, 10), right = FALSE, include.lowest = TRUE)', ch);
    expect(c2.levels).toEqual(['[0,5)', '[5,10]']);
    expect(values(c2)).toEqual(['[0,5)', '[5,10]', '[5,10]', null, '[0,5)', null]);
    const c3 = evalExpr('cut(x, c(-Inf, 2.5, Inf), labels = c("small", "big"))', ch);
    expect(values(c3)).toEqual(['small', 'big', 'big', null, 'small', 'big']);
    expect(values(evalExpr('cut(x, c(0, 5, 10), labels = FALSE)', ch))).toEqual([1, 1, 2, null, null, null]);
    // R: levels(cut(1, c(0.001234, 1.5, 1000000))) == c("(0.00123,1.5]", "(1.5,1e+06]")
    expect(evalExpr('cut(x, c(0.001234, 1.5, 1000000))', ch).levels).toEqual(['(0.00123,1.5]', '(1.5,1e+06]']);
  });

  it('handles strings', async () => {
    const ch = await chunkOf({ s: ['Hello', 'World', null], x: [1, 2.5, 3] }, { stringsAsFactors: false });
    expect(values(evalExpr('substr(s, 2, 4)', ch))).toEqual(['ell', 'orl', null]);
    expect(values(evalExpr('nchar(s)', ch))).toEqual([5, 5, null]);
    expect(values(evalExpr('paste(s, x, sep = "-")', ch))).toEqual(['Hello-1', 'World-2.5', 'NA-3']);
    expect(values(evalExpr('paste0(toupper(s), "!")', ch))).toEqual(['HELLO!', 'WORLD!', 'NA!']);
    expect(values(evalExpr('tolower(s) == "hello"', ch))).toEqual([true, false, null]);
    expect(values(evalExpr('paste("a", "b")', ch))).toEqual(['a b', 'a b', 'a b']);
  });

  it('uses transform objects and backquoted names', async () => {
    const ch = await chunkOf({ 'arr delay': [5, 20, null], x: [1, 2, 3] });
    const objects = { cutoff: 10, keep: [1, 3], label: 'late' };
    expect(values(evalExpr('`arr delay` > cutoff', ch, { objects }))).toEqual([false, true, null]);
    expect(values(evalExpr('x %in% keep', ch, { objects }))).toEqual([true, false, true]);
    expect(values(evalExpr('ifelse(`arr delay` > cutoff, label, "ok")', ch, { objects }))).toEqual(['ok', 'late', null]);
    expect(values(evalExpr('x * pi', ch))).toEqual([Math.PI, 2 * Math.PI, 3 * Math.PI]);
  });

  it('reads columns named like keywords when backquoted', async () => {
    const ch = await chunkOf({ TRUE: [1, 2], if: [3, 4], 'a-b': [5, 6] });
    expect(values(evalExpr('`TRUE` + `if` * `a-b`', ch))).toEqual([16, 26]);
    expect(() => parseExpr('if + 1')).toThrow(/"if" is not supported/);
  });

  it('reports evaluation errors with the expression and position', async () => {
    const ch = await chunkOf({ x: [1, 2], f: ['a', 'b'] });
    const err = (text: string): RxError => {
      try {
        evalExpr(text, ch);
      } catch (e) {
        expect(e).toBeInstanceOf(RxError);
        return e as RxError;
      }
      throw new Error(`expected an error for ${text}`);
    };
    const e1 = err('x + nope * 2');
    expect(e1.code).toBe('RX_EXPR');
    expect(e1.message).toContain('"x + nope * 2"');
    expect(e1.message).toContain('position 5');
    expect(e1.message).toContain('"nope"');
    expect(e1.column).toBe('nope');
    expect(err('f + 1').message).toMatch(/not meaningful for factors/);
    expect(err('"a" * 2').message).toMatch(/non-numeric argument/);
    expect(err('frobnicate(x)').message).toMatch(/unknown function "frobnicate\(\)"/);
    expect(err('x + c(1, 2)').message).toMatch(/c\(\) makes a vector/);
    expect(err('round(x, digits = x)').message).toMatch(/must be a constant/);
    expect(err('x %in% f').message).toMatch(/must be a constant/);
    expect(err('cut(x, 3)').message).toMatch(/vector of break points/);
    expect(err('factor(x, levels = c("a"), labels = c("p", "q"))').message).toMatch(/labels has 2 values/);
    expect(err('log(y = x)').message).toMatch(/unknown argument "y"/);
  });

  it('types expressions statically from a schema', () => {
    const schema = {
      columns: [
        { name: 'x', type: 'float64' as const },
        { name: 'f', type: 'factor' as const, levels: ['a', 'b'] },
        { name: 's', type: 'string' as const },
      ],
    };
    expect(inferExprType('x > 1', schema)).toEqual({ type: 'bool' });
    expect(inferExprType('log(x)', schema)).toEqual({ type: 'float64' });
    expect(inferExprType('paste(s, x)', schema)).toEqual({ type: 'string' });
    expect(inferExprType('f', schema)).toEqual({ type: 'factor', levels: ['a', 'b'] });
    expect(inferExprType('cut(x, c(0, 1, 2))', schema)).toEqual({ type: 'factor', levels: ['(0,1]', '(1,2]'] });
    expect(inferExprType('factor(s)', schema)).toEqual({ type: 'factor' });
    expect(() => inferExprType('zz + 1', schema)).toThrow(/unknown column or object "zz"/);
  });

  it('evaluates a large column quickly with typed arrays', async () => {
    const n = 200_000;
    const x = new Float64Array(n);
    for (let i = 0; i < n; i++) x[i] = (i % 100) - 50;
    const ch = await chunkOf({ x });
    const r = evalExpr('ifelse(x > 0 & !is.na(x), log(x) * 2, 0)', ch);
    expect(r.data).toBeInstanceOf(Float64Array);
    expect((r.data as Float64Array)[51]).toBeCloseTo(0, 12); // x = 1
    expect((r.data as Float64Array)[60]).toBeCloseTo(2 * Math.log(10), 12);
  });
});
