// A tiny model kind used only by the server tests: y = a * x + b, plus a factor offset.
import type { Chunk, ColumnInfo } from '../../lib/data/types.js';
import { registerModelKind, type RxModel } from '../../lib/scoring/registry.js';

export class ToyLinear implements RxModel {
  readonly modelKind = 'toyLinearForServerTest';
  constructor(
    readonly a: number,
    readonly b: number,
    readonly levels: string[],
    readonly levelEffects: Float64Array,
  ) {}
  toJSON() {
    return { a: this.a, b: this.b, levels: this.levels, levelEffects: this.levelEffects };
  }
}

registerModelKind<ToyLinear>({
  kind: 'toyLinearForServerTest',
  version: 1,
  fromJSON: (j: any) => new ToyLinear(j.a, j.b, j.levels, j.levelEffects),
  inputs: (m): ColumnInfo[] => [
    { name: 'x', type: 'float64' },
    { name: 'g', type: 'factor', levels: m.levels },
  ],
  score(m, chunk: Chunk) {
    const x = chunk.columns.x!.data as Float64Array;
    const g = chunk.columns.g!.data as Int32Array;
    const y = new Float64Array(chunk.numRows);
    for (let i = 0; i < y.length; i++) y[i] = m.a * x[i]! + m.b + m.levelEffects[g[i]!]!;
    return { y_Pred: y };
  },
});
