/** R formulas -> model specification -> model matrix (and raw predictors for trees). */
export { parseFormula, expandDot, termLabels } from './parse.js';
export type { Formula, FormulaVariable, ParseFormulaOptions, Term } from './parse.js';
export { createModelSpec } from './spec.js';
export type { Coding, CoefficientSpec, ModelSpec, ModelSpecOptions, ResponseSpec, TermSpec, VariableKind, VariableSpec } from './spec.js';
export { buildModelMatrix, buildPredictorColumns, modelVariables } from './matrix.js';
export type { BuildOptions, ModelMatrix, PredictorColumns, PredictorInfo } from './matrix.js';
