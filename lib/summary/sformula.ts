/**
 * Summary formulas: the small part of R's formula language that rxSummary, rxCube,
 * rxCrossTabs, rxCovCor and rxHistogram use.
 *
 *   [lhs] ~ term + term + ... [| cond]
 *   lhs  := var | cbind(var, var, ...)
 *   term := factor(:factor)* | '.'
 *   factor := name | `quoted name` | F(name [, low [, high]]) | F(name, low = a, high = b)
 *
 * `- 1` / `+ 0` are accepted and ignored (summaries have no intercept). Anything else
 * (I(), log(), ...) is rejected with an RX_FORMULA error naming the term: use the
 * `transforms` option to create derived variables.
 */
import { RxError } from '../errors.js';

export interface SVar {
  /** Column name in the data. */
  name: string;
  /** F(x): numeric treated as a factor with integer levels low..high. */
  asFactor?: boolean;
  low?: number;
  high?: number;
  /** Label shown in output: `x` or `F(x)` or `F(x, low = 1, high = 3)`. */
  label: string;
  /** Column name RevoScaleR gives the factor: `F_x` or `F_x_1_3_T`. */
  outName: string;
  /** A function term such as `log(incwage)`: computed by the expression language as a transform named `name`. */
  expr?: string;
}

export interface STerm {
  vars: SVar[];
  /** The term as written (normalised spacing), e.g. `ArrDelay:DayOfWeek`. */
  label: string;
  /** `.` expands to every column (resolved later against the schema). */
  dot?: boolean;
}

export interface SFormula {
  text: string;
  lhs: SVar[];
  terms: STerm[];
  cond: SVar[];
}

function tokenize(s: string, pos: number[] = []): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < s.length) {
    const c = s[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === '`') {
      const j = s.indexOf('`', i + 1);
      if (j < 0) throw new RxError('RX_FORMULA', `Unterminated backquote in formula "${s}"`, { text: s });
      pos.push(i);
      out.push(s.slice(i, j + 1));
      i = j + 1;
      continue;
    }
    if ('~+:|(),=-*/^<>!&.'.includes(c) && !(c === '.' && /[A-Za-z0-9_]/.test(s[i + 1] ?? ''))) {
      pos.push(i);
      out.push(c);
      i++;
      continue;
    }
    const m = /^[A-Za-z0-9_.]+/.exec(s.slice(i));
    if (!m) throw new RxError('RX_FORMULA', `Unexpected character "${c}" in formula "${s}"`, { text: s });
    pos.push(i);
    out.push(m[0]);
    i += m[0].length;
  }
  return out;
}

function unquote(t: string): string {
  return t.startsWith('`') ? t.slice(1, -1) : t;
}

function fmtNum(x: number): string {
  return String(x);
}

/** Parses a summary formula. */
export function parseSummaryFormula(text: string): SFormula {
  if (typeof text !== 'string' || !text.includes('~'))
    throw new RxError('RX_FORMULA', `Expected a formula like "~ a + b" but received ${JSON.stringify(text)}`, { text: String(text) });
  const pos: number[] = [];
  const toks = tokenize(text, pos);
  let p = 0;
  const peek = () => toks[p];
  const next = () => toks[p++];
  const expect = (t: string) => {
    if (toks[p] !== t) throw new RxError('RX_FORMULA', `Expected "${t}" in formula "${text}" but found ${toks[p] === undefined ? 'the end' : `"${toks[p]}"`}`, { text });
    p++;
  };

  const parseVar = (): SVar => {
    const t = next();
    if (t === undefined) throw new RxError('RX_FORMULA', `Formula "${text}" ends where a variable was expected`, { text });
    if (t === 'F' && peek() === '(') {
      next();
      const nameTok = next();
      if (nameTok === undefined || '~+:|(),='.includes(nameTok)) throw new RxError('RX_FORMULA', `F() needs a variable name in formula "${text}"`, { text });
      const name = unquote(nameTok);
      const args: Record<string, number> = {};
      const pos: number[] = [];
      while (peek() === ',') {
        next();
        let key: string | undefined;
        if (toks[p + 1] === '=') {
          key = next();
          next();
        }
        let sign = 1;
        if (peek() === '-') {
          next();
          sign = -1;
        }
        const v = next();
        const num = Number(v);
        if (v === 'TRUE' || v === 'FALSE' || v === 'T') {
          args[key ?? 'exclude'] = v === 'FALSE' ? 0 : 1;
          continue;
        }
        if (!Number.isFinite(num)) throw new RxError('RX_FORMULA', `F(${name}, ...) expects numeric low/high but found "${v}"`, { text: `F(${name})` });
        if (key) args[key] = sign * num;
        else pos.push(sign * num);
      }
      expect(')');
      const low = args.low ?? pos[0];
      const high = args.high ?? pos[1];
      const v: SVar = { name, asFactor: true, label: `F(${name})`, outName: `F_${name}` };
      if (low !== undefined) v.low = low;
      if (high !== undefined) v.high = high;
      if (low !== undefined || high !== undefined) {
        v.label = `F(${name}${low !== undefined ? `, low = ${fmtNum(low)}` : ''}${high !== undefined ? `, high = ${fmtNum(high)}` : ''})`;
        v.outName = `F_${name}_${low ?? ''}_${high ?? ''}_T`;
      }
      return v;
    }
    if (peek() === '(') {
      // a function term (log(x), I(x^2), ...): its text becomes a transform expression
      const start = pos[p - 1]!;
      let depth = 0;
      for (;;) {
        const tk = next();
        if (tk === undefined) throw new RxError('RX_FORMULA', `Unbalanced parentheses in formula "${text}"`, { text });
        if (tk === '(') depth++;
        else if (tk === ')' && --depth === 0) break;
      }
      const end = pos[p - 1]! + 1;
      let src = text.slice(start, end);
      const label = src.replace(/\s+/g, ' ');
      if (/^I\(/.test(src)) src = src.slice(2, -1);
      return { name: label, label, outName: label, expr: src };
    }
    if (t.length === 1 && '~+:|(),=-*/^<>!&'.includes(t)) throw new RxError('RX_FORMULA', `Unexpected "${t}" in formula "${text}"`, { text });
    const name = unquote(t);
    return { name, label: name, outName: name };
  };

  const parseTerm = (): STerm | null => {
    if (peek() === '.') {
      next();
      return { vars: [], label: '.', dot: true };
    }
    if (peek() === '1' || peek() === '0') {
      next();
      return null;
    }
    const vars = [parseVar()];
    while (peek() === ':' || peek() === '*') {
      next();
      vars.push(parseVar());
    }
    return { vars, label: vars.map((v) => v.label).join(':') };
  };

  const lhs: SVar[] = [];
  if (peek() !== '~') {
    if (peek() === 'cbind' && toks[p + 1] === '(') {
      next();
      next();
      lhs.push(parseVar());
      while (peek() === ',') {
        next();
        lhs.push(parseVar());
      }
      expect(')');
    } else {
      lhs.push(parseVar());
      while (peek() === '+') {
        next();
        lhs.push(parseVar());
      }
    }
  }
  expect('~');
  const terms: STerm[] = [];
  let sign = 1;
  for (;;) {
    if (peek() === '-') {
      next();
      sign = -1;
    }
    const t = parseTerm();
    if (t && sign > 0) terms.push(t);
    sign = 1;
    if (peek() === '+') {
      next();
      continue;
    }
    break;
  }
  const cond: SVar[] = [];
  if (peek() === '|') {
    next();
    cond.push(parseVar());
    while (peek() === ':' || peek() === '+') {
      next();
      cond.push(parseVar());
    }
  }
  if (p < toks.length) throw new RxError('RX_FORMULA', `Unexpected "${toks[p]}" in formula "${text}"`, { text });
  if (terms.length === 0) throw new RxError('RX_FORMULA', `Formula "${text}" has no terms on the right-hand side`, { text });
  return { text: text.trim(), lhs, terms, cond };
}
