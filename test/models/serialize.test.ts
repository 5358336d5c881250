import { describe, expect, it } from 'vitest';
import { rxGlm, rxLinMod, rxLogit, rxPredict } from '../../lib/models/index.js';
import { getModelKind } from '../../lib/scoring/registry.js';
import { rxSerializeModel, rxUnserializeModel } from '../../lib/scoring/serialize.js';
import { readCsv } from './helpers.js';

const bres = readCsv('breslow.dat.csv');
const kyph = readCsv('kyphosis.csv');

describe('model kinds: serialize round trip', () => {
  it('rxLinMod, rxLogit, rxGlm round-trip exactly and predict the same', async () => {
    const models = [
      [await rxLinMod('sumY ~ Base * Trt + Age', bres), bres],
      [await rxLogit('Kyphosis ~ Age + Start + Number', kyph), kyph],
      [await rxGlm('sumY ~ Base + Age + Trt', bres, { family: 'poisson' }), bres],
    ] as const;
    for (const [m, data] of models) {
      const back = rxUnserializeModel(rxSerializeModel(m)) as typeof m;
      expect(back.modelKind).toBe(m.modelKind);
      expect(back.coefficients).toEqual(m.coefficients);
      expect(back.stdErrors).toEqual(m.stdErrors);
      expect(back.summary().toString()).toBe(m.summary().toString());
      const y = `${m.design.responseLabel}_Pred`;
      const a = (await rxPredict(m, data))[y] as Float64Array;
      const b = (await rxPredict(back, data))[y] as Float64Array;
      expect(Array.from(b)).toEqual(Array.from(a));
      const k = getModelKind(m.modelKind);
      expect(k.inputs!(m).map((c) => c.name).sort()).toEqual(m.design.model.sourceColumns.filter((c) => c !== m.design.responseLabel).sort());
    }
  });
});
