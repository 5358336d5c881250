/**
 * AST -> R source text, spaced like R's deparse() (so formula term labels match R's
 * `attr(terms(f), "term.labels")`, e.g. `I(x^2)`, `log(x + 1)`, `a:b`).
 */
import type { ExprNode } from './ast.js';
import { formatR } from './format.js';

const SYNTACTIC = /^((([A-Za-z]|[.][A-Za-z._]|[.]$)[A-Za-z0-9._]*)|[.])$/;
const RESERVED = new Set(['if', 'else', 'repeat', 'while', 'function', 'for', 'next', 'break', 'in', 'TRUE', 'FALSE', 'NULL', 'Inf', 'NaN', 'NA', 'NA_integer_', 'NA_real_', 'NA_character_']);

/** R-style name: backquoted when not syntactic. */
export function deparseName(name: string): string {
  return SYNTACTIC.test(name) && !RESERVED.has(name) ? name : `\`${name.replace(/`/g, '\\`')}\``;
}

export function deparseString(s: string): string {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n').replace(/\t/g, '\\t').replace(/\r/g, '\\r')}"`;
}

/** Numbers as R's deparse() writes them (15 significant digits, fixed unless scientific is narrower). */
export function deparseNumber(x: number): string {
  return formatR(x);
}

const SPACED = new Set(['+', '-', '*', '==', '!=', '<', '<=', '>', '>=', '&', '|', '&&', '||', '~', '%in%']);

export function deparse(node: ExprNode): string {
  switch (node.type) {
    case 'num':
      return deparseNumber(node.value) + (node.integer ? 'L' : '');
    case 'str':
      return deparseString(node.value);
    case 'const':
      return node.name;
    case 'name':
      return deparseName(node.name);
    case 'paren':
      return `(${deparse(node.arg)})`;
    case 'unary':
      return node.op === '~' ? `~${deparse(node.arg)}` : `${node.op}${deparse(node.arg)}`;
    case 'binary': {
      const l = deparse(node.left);
      const r = deparse(node.right);
      return SPACED.has(node.op) ? `${l} ${node.op} ${r}` : `${l}${node.op}${r}`;
    }
    case 'call':
      return `${deparseName(node.fn)}(${node.args.map((a) => (a.name !== undefined ? `${deparseName(a.name)} = ${deparse(a.value)}` : deparse(a.value))).join(', ')})`;
  }
}
