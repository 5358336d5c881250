/**
 * AST of the safe expression language (R syntax subset). Plain JSON data: it can be
 * sent to worker threads, stored in models and compiled to SQL. `pos` is the 1-based
 * character position of the node's first token in the source text.
 */

/** Finite numeric literal. */
export interface NumNode {
  type: 'num';
  value: number;
  /** Written with an `L` suffix (R integer literal). */
  integer?: boolean;
  pos: number;
}
export interface StrNode {
  type: 'str';
  value: string;
  pos: number;
}
/** Built-in constants: TRUE FALSE NA NA_real_ NA_integer_ NA_character_ Inf NaN NULL. */
export interface ConstNode {
  type: 'const';
  name: 'TRUE' | 'FALSE' | 'NA' | 'NA_real_' | 'NA_integer_' | 'NA_character_' | 'Inf' | 'NaN' | 'NULL';
  pos: number;
}
/** A column or transform object name (`x`, `` `odd name` ``, `.`). */
export interface NameNode {
  type: 'name';
  name: string;
  /** Written with backquotes. */
  quoted?: boolean;
  pos: number;
}
export interface UnaryNode {
  type: 'unary';
  op: '-' | '+' | '!' | '~';
  arg: ExprNode;
  pos: number;
}
export type BinaryOp =
  | '+' | '-' | '*' | '/' | '^' | '%%' | '%/%' | '%in%'
  | '==' | '!=' | '<' | '<=' | '>' | '>='
  | '&' | '|' | '&&' | '||'
  | ':' | '~';
export interface BinaryNode {
  type: 'binary';
  op: BinaryOp;
  left: ExprNode;
  right: ExprNode;
  pos: number;
}
export interface CallArg {
  /** Argument name when written `name = value`. */
  name?: string;
  value: ExprNode;
}
export interface CallNode {
  type: 'call';
  fn: string;
  args: CallArg[];
  pos: number;
}
/** Parenthesised expression (kept so formulas and deparse see what was written). */
export interface ParenNode {
  type: 'paren';
  arg: ExprNode;
  pos: number;
}

export type ExprNode = NumNode | StrNode | ConstNode | NameNode | UnaryNode | BinaryNode | CallNode | ParenNode;

/** Root of a parsed expression: carries the source text for error messages. */
export type ParsedExpr = ExprNode & { text?: string };
