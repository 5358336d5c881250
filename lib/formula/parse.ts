/**
 * R formula parsing and term expansion, following R's terms.formula():
 *   a + b        union of terms            a:b      interaction
 *   a*b          a + b + a:b               (a+b)^2  all interactions up to order 2
 *   a - b        remove terms of b         -1 / +0  no intercept, +1 intercept
 *   a %in% b     a nested in b (a:b)       a/b      a + a:b
 *   .            all other columns (resolved against a schema)
 *   offset(x)    offset, not a term        F(x)     numeric as factor    I(expr) arithmetic
 * Variables are ordered by first appearance (response first), interaction labels list
 * variables in that order, and terms are sorted by order (main effects, then 2-way, ...)
 * keeping their order of appearance; duplicates are removed. Term labels match R's
 * `attr(terms(f), "term.labels")`. `~ x | g` conditioning (histograms) is split off.
 */
import { RxError } from '../errors.js';
import type { ExprNode, ParsedExpr } from '../expr/ast.js';
import { deparse } from '../expr/deparse.js';
import { parseExpr } from '../expr/parse.js';

export interface Term {
  /** R term label, e.g. `a`, `log(x)`, `a:b`. */
  label: string;
  /** Indices into Formula.variables, increasing. */
  vars: number[];
}

export interface FormulaVariable {
  /** R-style label (deparsed expression). */
  label: string;
  expr: ExprNode;
}

export interface Formula {
  text: string;
  /** Left-hand side, or null for one-sided formulas. */
  response: ExprNode | null;
  /** Right-hand side variables (response excluded), in order of first appearance. */
  variables: FormulaVariable[];
  terms: Term[];
  intercept: boolean;
  offsets: ExprNode[];
  /** Names after `|` (e.g. `~ x | g`); undefined when absent. */
  conditioning?: string[];
  /** The expressions after `|` (same order as `conditioning`), e.g. the call node of `F(age)`. */
  conditioningExprs?: ExprNode[];
  /** Terms keep their order of appearance instead of being sorted by order (R's `keep.order = TRUE`). */
  keepOrder?: boolean;
  /** True when the right-hand side used `.`; the terms are then resolved by expandDot(). */
  hasDot: boolean;
  /** Right-hand side AST (for `.` resolution). */
  rhs: ExprNode | null;
}

function formulaError(text: string, node: ExprNode | null, reason: string): RxError {
  const where = node ? ` at position ${node.pos}` : '';
  return new RxError('RX_FORMULA', `Invalid formula "${text}"${where}: ${reason}`, {
    text: node ? deparse(node) : text,
    ...(node ? { column: node.pos } : {}),
  });
}

type TermSet = number[][]; // each term: sorted variable indices; [] is the intercept

const keyOf = (t: number[]): string => t.join(',');

function union(a: number[], b: number[]): number[] {
  return [...new Set([...a, ...b])].sort((x, y) => x - y);
}

function dedup(ts: TermSet): TermSet {
  const seen = new Set<string>();
  const out: TermSet = [];
  for (const t of ts) {
    const k = keyOf(t);
    if (!seen.has(k)) {
      seen.add(k);
      out.push(t);
    }
  }
  return out;
}

class Expander {
  readonly variables: FormulaVariable[] = [];
  private readonly index = new Map<string, number>();
  readonly offsets: ExprNode[] = [];
  interceptRemoved = false;
  interceptAdded = false;

  constructor(private readonly text: string) {}

  variable(expr: ExprNode): number {
    const label = deparse(expr);
    let k = this.index.get(label);
    if (k === undefined) {
      k = this.variables.length;
      this.variables.push({ label, expr });
      this.index.set(label, k);
    }
    return k;
  }

  encode(node: ExprNode): TermSet {
    switch (node.type) {
      case 'paren':
        return this.encode(node.arg);
      case 'num':
        if (node.value === 1) return [[]];
        if (node.value === 0) {
          this.interceptRemoved = true;
          return [];
        }
        throw formulaError(this.text, node, `invalid term "${deparse(node)}" (only 0 and 1 are allowed as numbers)`);
      case 'name':
        if (node.name === '.' && !node.quoted) throw formulaError(this.text, node, '"." needs the data\'s columns');
        return [[this.variable(node)]];
      case 'unary':
        if (node.op === '-') {
          this.subtract([], node.arg);
          return [];
        }
        if (node.op === '+') return this.encode(node.arg);
        if (node.op === '~') throw formulaError(this.text, node, 'a formula can contain only one "~"');
        throw formulaError(this.text, node, `invalid term "${deparse(node)}" (use I(...) for arithmetic and logic)`);
      case 'binary':
        switch (node.op) {
          case '+':
            return dedup([...this.encode(node.left), ...this.encode(node.right)]);
          case ':': {
            const l = this.encode(node.left);
            const r = this.encode(node.right);
            const out: TermSet = [];
            for (const a of l) for (const b of r) out.push(union(a, b));
            return dedup(out);
          }
          case '*': {
            const l = this.encode(node.left);
            const r = this.encode(node.right);
            const out: TermSet = [...l, ...r];
            for (const a of l) for (const b of r) out.push(union(a, b));
            return dedup(out);
          }
          case '%in%': {
            const l = this.encode(node.left);
            const r = this.encode(node.right);
            const all = r.reduce((acc, t) => union(acc, t), [] as number[]);
            return dedup(l.map((t) => union(t, all)));
          }
          case '/': {
            const l = this.encode(node.left);
            const r = this.encode(node.right);
            const all = l.reduce((acc, t) => union(acc, t), [] as number[]);
            return dedup([...l, ...r.map((t) => union(all, t))]);
          }
          case '^': {
            const base = this.encode(node.left);
            const pw = node.right.type === 'num' ? node.right.value : Number.NaN;
            if (!Number.isInteger(pw) || pw < 1) throw formulaError(this.text, node.right, `invalid power in formula term "${deparse(node)}" (need a positive integer)`);
            let out = base;
            for (let i = 1; i < pw; i++) {
              const next: TermSet = [...out];
              for (const a of out) for (const b of base) next.push(union(a, b));
              out = dedup(next);
            }
            return out;
          }
          case '-': {
            const l = this.encode(node.left);
            return this.subtract(l, node.right);
          }
          case '~':
            throw formulaError(this.text, node, 'a formula can contain only one "~"');
          case '|':
            throw formulaError(this.text, node, '"|" (conditioning) is only allowed at the top of the right-hand side');
          default:
            throw formulaError(this.text, node, `invalid term "${deparse(node)}" (operator "${node.op}" has no formula meaning; use I(...) for arithmetic and logic)`);
        }
      case 'call':
        if (node.fn === 'offset') {
          if (node.args.length !== 1) throw formulaError(this.text, node, 'offset() takes exactly one argument');
          this.offsets.push(node.args[0]!.value);
          return [];
        }
        return [[this.variable(node)]];
      case 'str':
        throw formulaError(this.text, node, `invalid term "${deparse(node)}" (strings are not terms; backquote odd names: \`my var\`)`);
      case 'const':
        throw formulaError(this.text, node, `invalid term "${node.name}"`);
    }
  }

  private subtract(left: TermSet, rightNode: ExprNode): TermSet {
    // -1 / -0 only toggle the intercept
    const r = rightNode.type === 'paren' ? rightNode.arg : rightNode;
    if (r.type === 'num') {
      if (r.value === 1) this.interceptRemoved = true;
      else if (r.value === 0) this.interceptAdded = true;
      else throw formulaError(this.text, r, `invalid term "${deparse(r)}"`);
      return left.filter((t) => t.length > 0 || r.value !== 1);
    }
    const savedOffsets = this.offsets.length;
    const rt = this.encode(rightNode);
    this.offsets.length = savedOffsets;
    const drop = new Set(rt.map(keyOf));
    if (drop.has('')) this.interceptRemoved = true;
    return left.filter((t) => !drop.has(keyOf(t)));
  }
}

function splitConditioning(rhs: ExprNode): { rhs: ExprNode | null; conditioning?: string[]; conditioningExprs?: ExprNode[] } {
  const top = rhs.type === 'paren' ? rhs : rhs;
  if (top.type === 'binary' && top.op === '|') {
    const names: string[] = [];
    const exprs: ExprNode[] = [];
    const walk = (e: ExprNode): void => {
      if (e.type === 'binary' && (e.op === '+' || e.op === '*' || e.op === ':')) {
        walk(e.left);
        walk(e.right);
      } else if (e.type === 'paren') walk(e.arg);
      else {
        names.push(e.type === 'name' ? e.name : deparse(e));
        exprs.push(e);
      }
    };
    walk(top.right);
    return { rhs: top.left, conditioning: names, conditioningExprs: exprs };
  }
  return { rhs };
}

function hasDot(node: ExprNode | null): boolean {
  if (!node) return false;
  switch (node.type) {
    case 'name':
      return node.name === '.' && !node.quoted;
    case 'paren':
    case 'unary':
      return hasDot(node.arg);
    case 'binary':
      return hasDot(node.left) || hasDot(node.right);
    default:
      return false;
  }
}

function replaceDot(node: ExprNode, cols: string[]): ExprNode {
  switch (node.type) {
    case 'name': {
      if (node.name !== '.' || node.quoted) return node;
      if (cols.length === 0) throw new RxError('RX_FORMULA', 'The "." in the formula matches no columns');
      let e: ExprNode = { type: 'name', name: cols[0]!, pos: node.pos };
      for (let i = 1; i < cols.length; i++) e = { type: 'binary', op: '+', left: e, right: { type: 'name', name: cols[i]!, pos: node.pos }, pos: node.pos };
      return { type: 'paren', arg: e, pos: node.pos };
    }
    case 'paren':
      return { ...node, arg: replaceDot(node.arg, cols) };
    case 'unary':
      return { ...node, arg: replaceDot(node.arg, cols) };
    case 'binary':
      return { ...node, left: replaceDot(node.left, cols), right: replaceDot(node.right, cols) };
    default:
      return node;
  }
}

function expand(text: string, response: ExprNode | null, rhs: ExprNode | null, keepOrder = false): Pick<Formula, 'variables' | 'terms' | 'intercept' | 'offsets'> {
  const ex = new Expander(text);
  // the response takes variable slot order first (as in R), but is not a term
  let responseIdx = -1;
  if (response) responseIdx = ex.variable(response);
  let ts: TermSet = rhs ? ex.encode(rhs) : [];
  const intercept = !(ex.interceptRemoved && !ex.interceptAdded) && (!ex.interceptRemoved || ex.interceptAdded);
  ts = ts.filter((t) => t.length > 0);
  if (responseIdx >= 0) ts = ts.filter((t) => !(t.length === 1 && t[0] === responseIdx));
  // sort by order, stable (unless keep.order)
  const ordered = keepOrder ? ts : ts.map((t, i) => ({ t, i })).sort((a, b) => a.t.length - b.t.length || a.i - b.i).map((x) => x.t);
  // renumber variables without the response
  const used = ex.variables.map((_, i) => i).filter((i) => i !== responseIdx);
  const remap = new Map(used.map((v, k) => [v, k]));
  const variables = used.map((i) => ex.variables[i]!);
  const terms: Term[] = ordered.map((t) => {
    const vars = t.map((v) => {
      const k = remap.get(v);
      if (k === undefined) throw formulaError(text, response, 'the response cannot appear in an interaction term');
      return k;
    });
    return { vars, label: vars.map((v) => variables[v]!.label).join(':') };
  });
  // variables that appear only in removed terms are dropped
  const live = new Set(terms.flatMap((t) => t.vars));
  if (live.size !== variables.length) {
    const keep = variables.map((_, i) => i).filter((i) => live.has(i));
    const m = new Map(keep.map((v, k) => [v, k]));
    return {
      variables: keep.map((i) => variables[i]!),
      terms: terms.map((t) => ({ label: t.label, vars: t.vars.map((v) => m.get(v)!) })),
      intercept,
      offsets: ex.offsets,
    };
  }
  return { variables, terms, intercept, offsets: ex.offsets };
}

export interface ParseFormulaOptions {
  /** Keep terms in order of appearance (R's `terms(f, keep.order = TRUE)`); default false. */
  keepOrder?: boolean;
}

/** Parses an R formula. Terms with `.` are resolved later by expandDot() against a schema. */
export function parseFormula(text: string, options: ParseFormulaOptions = {}): Formula {
  if (typeof text !== 'string') throw new RxError('RX_ARG', `Expected a formula string but received ${typeof text}`);
  let root: ParsedExpr;
  try {
    root = parseExpr(text);
  } catch (e) {
    if (e instanceof RxError && e.code === 'RX_EXPR') throw new RxError('RX_FORMULA', e.message.replace('Invalid expression', 'Invalid formula'), { text, ...(e.column !== undefined ? { column: e.column } : {}) });
    throw e;
  }
  let response: ExprNode | null;
  let rhsRaw: ExprNode;
  if (root.type === 'binary' && root.op === '~') {
    response = root.left;
    rhsRaw = root.right;
  } else if (root.type === 'unary' && root.op === '~') {
    response = null;
    rhsRaw = root.arg;
  } else throw formulaError(text, null, 'a formula needs "~" (e.g. "y ~ x1 + x2")');
  if (response && (response.type === 'binary' || response.type === 'unary') && (response as { op: string }).op === '~') throw formulaError(text, response, 'a formula can contain only one "~"');
  const { rhs, conditioning, conditioningExprs } = splitConditioning(rhsRaw);
  const dot = hasDot(rhs);
  const keepOrder = options.keepOrder === true;
  const base = dot ? { variables: [], terms: [], intercept: true, offsets: [] } : expand(text, response, rhs, keepOrder);
  const f: Formula = { text, response, ...base, hasDot: dot, rhs };
  if (conditioning) f.conditioning = conditioning;
  if (conditioningExprs) f.conditioningExprs = conditioningExprs;
  if (keepOrder) f.keepOrder = true;
  return f;
}

/** Resolves `.` to the given columns (all data columns except those in the response). */
export function expandDot(f: Formula, columns: string[]): Formula {
  if (!f.hasDot || !f.rhs) return f;
  const rhs = replaceDot(f.rhs, columns);
  const out: Formula = { ...f, ...expand(f.text, f.response, rhs, f.keepOrder === true), hasDot: false, rhs };
  return out;
}

/** R's attr(terms(f), "term.labels"). */
export function termLabels(f: Formula): string[] {
  return f.terms.map((t) => t.label);
}
