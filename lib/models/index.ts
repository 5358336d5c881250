/** Linear models: rxLinMod, rxLogit, rxGlm, rxPredict, anova. */
import './register.js';
export { rxLinMod, linModAccumulator } from './linmod.js';
export type { RxLinModOptions } from './linmod.js';
export { rxGlm, rxLogit, glmAccumulator } from './glm.js';
export type { RxGlmOptions } from './glm.js';
export { rxPredict } from './predict.js';
export type { RxPredictOptions } from './predict.js';
export { LinModResult, GlmResult, printCoefmat, formatR, formatPval } from './results.js';
export { familySpec, makeFamily } from './family.js';
export type { FamilySpec, FamilyName, LinkName } from './family.js';

import type { LinModResult } from './results.js';
/** Sequential (type I) ANOVA table of a linear model, as R's anova(lm). */
export function anova(model: LinModResult): LinModResult['anova'] {
  return model.anovaTable();
}
import './pushdown.js'; // in-database SQL forms of rxLinMod / rxGlm (lib/db contexts)
