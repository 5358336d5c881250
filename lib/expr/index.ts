/** Safe R-like expression language: parse to a JSON AST, evaluate column-wise, compile to SQL. */
export type { BinaryNode, CallArg, CallNode, ConstNode, ExprNode, NameNode, NumNode, ParenNode, ParsedExpr, StrNode, UnaryNode } from './ast.js';
export { parseExpr } from './parse.js';
export { deparse } from './deparse.js';
export { evalExpr, evalSelection, exprColumns, inferExprType, EXPR_FUNCTIONS } from './eval.js';
export type { EvalEnv, InferredType } from './eval.js';
export { withTransforms, filterColumn } from './source.js';
export type { TransformOptions } from './source.js';
export { toSql, toSqlPredicate, quoteIdent } from './sql.js';
export type { SqlDialect, SqlResult, ToSqlOptions } from './sql.js';
