/**
 * Hand-written tokenizer + Pratt parser for the R-like expression language. Produces a
 * JSON-serialisable AST (see ast.ts); nothing is ever evaluated as JavaScript.
 *
 * Operator precedence follows R (lowest first):
 *   ~  |  ||  &  &&  !(prefix)  comparisons(non-associative)  + -  * /  %op%  :  unary + -  ^(right)
 */
import { RxError } from '../errors.js';
import type { BinaryOp, CallArg, ConstNode, ExprNode, ParsedExpr } from './ast.js';

type TokKind = 'num' | 'str' | 'name' | 'op' | '(' | ')' | ',' | '=' | 'eof';
interface Token {
  kind: TokKind;
  text: string;
  /** 0-based offset in the source. */
  at: number;
  num?: number;
  integer?: boolean;
  quoted?: boolean;
}

const RESERVED = new Set(['if', 'else', 'repeat', 'while', 'function', 'for', 'next', 'break', 'in']);
const CONSTANTS = new Set(['TRUE', 'FALSE', 'NA', 'NA_real_', 'NA_integer_', 'NA_character_', 'Inf', 'NaN', 'NULL']);

export function exprError(text: string, at: number, reason: string): RxError {
  const pos = at + 1;
  return new RxError('RX_EXPR', `Invalid expression "${text}" at position ${pos}: ${reason}`, { text, column: pos });
}

function isNameStart(c: string): boolean {
  return /[A-Za-z.\u00C0-\uFFFF]/.test(c);
}
function isNameChar(c: string): boolean {
  return /[A-Za-z0-9._\u00C0-\uFFFF]/.test(c);
}

function tokenize(src: string): Token[] {
  const toks: Token[] = [];
  let i = 0;
  const n = src.length;
  while (i < n) {
    const c = src[i]!;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\f') {
      i++;
      continue;
    }
    if (c === '#') {
      while (i < n && src[i] !== '\n') i++;
      continue;
    }
    const at = i;
    // numbers: 1 1.5 .5 1e-3 0x1F 1L
    if (/[0-9]/.test(c) || (c === '.' && /[0-9]/.test(src[i + 1] ?? ''))) {
      let value: number;
      if (c === '0' && (src[i + 1] === 'x' || src[i + 1] === 'X')) {
        i += 2;
        const b = i;
        while (i < n && /[0-9A-Fa-f]/.test(src[i]!)) i++;
        if (i === b) throw exprError(src, at, 'malformed hexadecimal number');
        value = Number.parseInt(src.slice(b, i), 16);
      } else {
        while (i < n && /[0-9]/.test(src[i]!)) i++;
        if (src[i] === '.') {
          i++;
          while (i < n && /[0-9]/.test(src[i]!)) i++;
        }
        if (src[i] === 'e' || src[i] === 'E') {
          let j = i + 1;
          if (src[j] === '+' || src[j] === '-') j++;
          if (!/[0-9]/.test(src[j] ?? '')) throw exprError(src, at, `malformed number "${src.slice(at, j)}"`);
          while (j < n && /[0-9]/.test(src[j]!)) j++;
          i = j;
        }
        value = Number(src.slice(at, i));
      }
      let integer = false;
      if (src[i] === 'L') {
        integer = true;
        i++;
      } else if (src[i] === 'i') throw exprError(src, at, 'complex numbers are not supported');
      if (i < n && isNameChar(src[i]!)) throw exprError(src, i, `unexpected symbol after number "${src.slice(at, i)}"`);
      toks.push({ kind: 'num', text: src.slice(at, i), at, num: value, integer });
      continue;
    }
    if (c === '"' || c === "'") {
      i++;
      let s = '';
      for (;;) {
        if (i >= n) throw exprError(src, at, 'unterminated string');
        const d = src[i]!;
        if (d === c) {
          i++;
          break;
        }
        if (d === '\\') {
          const e = src[i + 1];
          if (e === undefined) throw exprError(src, at, 'unterminated string');
          i += 2;
          if (e === 'n') s += '\n';
          else if (e === 't') s += '\t';
          else if (e === 'r') s += '\r';
          else if (e === '0') s += '\0';
          else if (e === '\\' || e === '"' || e === "'" || e === '`') s += e;
          else if (e === 'u' || e === 'x') {
            const brace = src[i] === '{';
            const start = brace ? i + 1 : i;
            let j = start;
            const max = e === 'x' ? 2 : brace ? 8 : 4;
            while (j < n && j - start < max && /[0-9A-Fa-f]/.test(src[j]!)) j++;
            if (j === start) throw exprError(src, i - 2, `malformed \\${e} escape`);
            s += String.fromCodePoint(Number.parseInt(src.slice(start, j), 16));
            i = brace ? (src[j] === '}' ? j + 1 : j) : j;
          } else throw exprError(src, i - 2, `unknown escape sequence "\\${e}"`);
          continue;
        }
        s += d;
        i++;
      }
      toks.push({ kind: 'str', text: s, at });
      continue;
    }
    if (c === '`') {
      const e = src.indexOf('`', i + 1);
      if (e < 0) throw exprError(src, at, 'unterminated backquoted name');
      if (e === i + 1) throw exprError(src, at, 'empty backquoted name');
      toks.push({ kind: 'name', text: src.slice(i + 1, e), at, quoted: true });
      i = e + 1;
      continue;
    }
    if (isNameStart(c) || c === '_') {
      if (c === '_') throw exprError(src, at, 'a name cannot start with "_"');
      while (i < n && isNameChar(src[i]!)) i++;
      toks.push({ kind: 'name', text: src.slice(at, i), at });
      continue;
    }
    if (c === '%') {
      const e = src.indexOf('%', i + 1);
      if (e < 0) throw exprError(src, at, 'unterminated %operator%');
      toks.push({ kind: 'op', text: src.slice(i, e + 1), at });
      i = e + 1;
      continue;
    }
    const two = src.slice(i, i + 2);
    if (['==', '!=', '<=', '>=', '&&', '||'].includes(two)) {
      toks.push({ kind: 'op', text: two, at });
      i += 2;
      continue;
    }
    if (two === '<-' || two === '->' || two === '|>' || two === '::') {
      throw exprError(src, at, `operator "${two}" is not supported`);
    }
    if ('+-*/^<>!&|~:'.includes(c)) {
      toks.push({ kind: 'op', text: c, at });
      i++;
      continue;
    }
    if (c === '(' || c === ')' || c === ',' || c === '=') {
      toks.push({ kind: c, text: c, at });
      i++;
      continue;
    }
    if (c === '$' || c === '@' || c === '[' || c === ']' || c === '{' || c === '}' || c === ';' || c === '?') {
      throw exprError(src, at, `"${c}" is not supported in expressions`);
    }
    throw exprError(src, at, `unexpected character "${c}"`);
  }
  toks.push({ kind: 'eof', text: '', at: n });
  return toks;
}

// binding powers: [left bp, right bp]
const INFIX: Record<string, [number, number]> = {
  '~': [10, 11],
  '|': [20, 21],
  '||': [20, 21],
  '&': [30, 31],
  '&&': [30, 31],
  '==': [50, 51],
  '!=': [50, 51],
  '<': [50, 51],
  '<=': [50, 51],
  '>': [50, 51],
  '>=': [50, 51],
  '+': [60, 61],
  '-': [60, 61],
  '*': [70, 71],
  '/': [70, 71],
  ':': [90, 91],
  '^': [110, 109],
};
const PERCENT_BP: [number, number] = [80, 81];
const PREFIX_BP: Record<string, number> = { '~': 11, '!': 40, '-': 100, '+': 100 };
const COMPARISON = new Set(['==', '!=', '<', '<=', '>', '>=']);
const SUPPORTED_PERCENT = new Set(['%%', '%/%', '%in%']);

class Parser {
  private i = 0;
  constructor(
    private readonly src: string,
    private readonly toks: Token[],
  ) {}

  private peek(): Token {
    return this.toks[this.i]!;
  }
  private next(): Token {
    return this.toks[this.i++]!;
  }
  private fail(t: Token, reason?: string): never {
    const what = t.kind === 'eof' ? 'unexpected end of expression' : `unexpected ${t.kind === 'str' ? 'string' : `"${t.text}"`}`;
    throw exprError(this.src, t.at, reason ?? what);
  }

  parseAll(): ExprNode {
    if (this.peek().kind === 'eof') throw exprError(this.src, 0, 'empty expression');
    const e = this.expr(0);
    const t = this.peek();
    if (t.kind !== 'eof') this.fail(t);
    return e;
  }

  private expr(minBp: number): ExprNode {
    let left = this.prefix();
    for (;;) {
      const t = this.peek();
      if (t.kind !== 'op') {
        if (t.kind === '(' ) this.fail(t, 'unexpected "(" (only names can be called as functions)');
        if (t.kind === 'num' || t.kind === 'str' || t.kind === 'name') this.fail(t, `unexpected ${t.kind === 'str' ? 'string' : t.kind === 'num' ? 'number' : 'symbol'} "${t.text}" (missing operator?)`);
        break;
      }
      let bp: [number, number];
      if (t.text.startsWith('%')) {
        if (!SUPPORTED_PERCENT.has(t.text)) throw exprError(this.src, t.at, `operator "${t.text}" is not supported`);
        bp = PERCENT_BP;
      } else {
        const b = INFIX[t.text];
        if (!b) this.fail(t);
        bp = b;
      }
      if (bp[0] < minBp) break;
      this.next();
      const right = this.expr(bp[1]);
      if (COMPARISON.has(t.text) && right.type === 'binary' && COMPARISON.has(right.op)) {
        throw exprError(this.src, this.posOf(right) , 'comparisons cannot be chained (use & between them)');
      }
      if (COMPARISON.has(t.text) && left.type === 'binary' && COMPARISON.has(left.op)) {
        throw exprError(this.src, t.at, 'comparisons cannot be chained (use & between them)');
      }
      left = { type: 'binary', op: t.text as BinaryOp, left, right, pos: this.posOf(left) + 1 };
    }
    return left;
  }

  private posOf(n: ExprNode): number {
    return n.pos - 1;
  }

  private prefix(): ExprNode {
    const t = this.next();
    const pos = t.at + 1;
    switch (t.kind) {
      case 'num':
        if (!Number.isFinite(t.num!)) return { type: 'const', name: 'Inf', pos };
        return t.integer ? { type: 'num', value: t.num!, integer: true, pos } : { type: 'num', value: t.num!, pos };
      case 'str':
        return { type: 'str', value: t.text, pos };
      case 'name': {
        if (this.peek().kind === '(') return this.call(t);
        if (!t.quoted) {
          if (RESERVED.has(t.text)) throw exprError(this.src, t.at, `"${t.text}" is not supported in expressions`);
          if (CONSTANTS.has(t.text)) return { type: 'const', name: t.text as ConstNode['name'], pos };
          return { type: 'name', name: t.text, pos };
        }
        return { type: 'name', name: t.text, quoted: true, pos };
      }
      case '(': {
        const inner = this.expr(0);
        const close = this.next();
        if (close.kind !== ')') this.fail(close, close.kind === 'eof' ? 'missing ")"' : `expected ")" but found "${close.text}"`);
        return { type: 'paren', arg: inner, pos };
      }
      case 'op': {
        const bp = PREFIX_BP[t.text];
        if (bp === undefined) this.fail(t);
        const arg = this.expr(bp);
        return { type: 'unary', op: t.text as '-' | '+' | '!' | '~', arg, pos };
      }
      default:
        this.fail(t);
    }
  }

  private call(nameTok: Token): ExprNode {
    if (!nameTok.quoted && RESERVED.has(nameTok.text)) throw exprError(this.src, nameTok.at, `"${nameTok.text}" is not supported in expressions`);
    this.next(); // (
    const args: CallArg[] = [];
    if (this.peek().kind === ')') {
      this.next();
      return { type: 'call', fn: nameTok.text, args, pos: nameTok.at + 1 };
    }
    for (;;) {
      const t = this.peek();
      let name: string | undefined;
      if ((t.kind === 'name' || t.kind === 'str') && this.toks[this.i + 1]!.kind === '=') {
        name = t.text;
        this.i += 2;
      }
      const a = this.peek();
      if (a.kind === ',' || a.kind === ')') this.fail(a, 'empty argument');
      const value = this.expr(0);
      args.push(name === undefined ? { value } : { name, value });
      const sep = this.next();
      if (sep.kind === ')') break;
      if (sep.kind !== ',') this.fail(sep, sep.kind === 'eof' ? `missing ")" to close ${nameTok.text}(` : `expected "," or ")" but found "${sep.text}"`);
    }
    return { type: 'call', fn: nameTok.text, args, pos: nameTok.at + 1 };
  }
}

/** Parses an expression into a JSON-serialisable AST. Throws RxError('RX_EXPR') naming the position. */
export function parseExpr(text: string): ParsedExpr {
  if (typeof text !== 'string') throw new RxError('RX_ARG', `Expected a string for expression but received ${typeof text}`);
  const node = new Parser(text, tokenize(text)).parseAll() as ParsedExpr;
  node.text = text;
  return node;
}

/** Parses allowing formula operators; identical grammar (`~` is always an operator). */
export const parseRaw = parseExpr;
