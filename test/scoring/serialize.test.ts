import { crc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { RxError } from '../../lib/errors.js';
import { registerModelKind, type RxModel } from '../../lib/scoring/registry.js';
import { readModelEnvelope, rxSerializeModel, rxUnserializeModel } from '../../lib/scoring/serialize.js';

class ToyModel implements RxModel {
  readonly modelKind = 'toyModelForSerializeTest';
  constructor(
    readonly coef: Float64Array,
    readonly nodes: Int32Array,
    readonly names: string[],
    readonly extra: { sigma: number; flag: boolean; missing: number },
  ) {}
  toJSON() {
    return { coef: this.coef, nodes: this.nodes, names: this.names, extra: this.extra };
  }
}
const seenVersions: number[] = [];
registerModelKind<ToyModel>({
  kind: 'toyModelForSerializeTest',
  version: 2,
  fromJSON(json: any, version) {
    seenVersions.push(version);
    return new ToyModel(json.coef, json.nodes, json.names, json.extra);
  },
});

function toy() {
  return new ToyModel(
    Float64Array.from([1.5, -2.25, Number.NaN, Number.POSITIVE_INFINITY, 1e-300]),
    Int32Array.from([0, -1, 7, 2147483647]),
    ['(Intercept)', 'x=a'],
    { sigma: Number.NaN, flag: true, missing: Number.NEGATIVE_INFINITY },
  );
}

describe('rxSerializeModel / rxUnserializeModel', () => {
  for (const compress of [true, false]) {
    it(`round-trips typed arrays and non-finite numbers exactly (compress=${compress})`, () => {
      const m = toy();
      const bytes = rxSerializeModel(m, { compress });
      const back = rxUnserializeModel<ToyModel>(bytes);
      expect(back).toBeInstanceOf(ToyModel);
      expect(Array.from(back.coef)).toEqual(Array.from(m.coef));
      expect(back.coef).toBeInstanceOf(Float64Array);
      expect(Array.from(back.nodes)).toEqual(Array.from(m.nodes));
      expect(back.names).toEqual(m.names);
      expect(back.extra.sigma).toBeNaN();
      expect(back.extra.missing).toBe(Number.NEGATIVE_INFINITY);
      expect(readModelEnvelope(bytes)).toMatchObject({ kind: 'toyModelForSerializeTest', kindVersion: 2, formatVersion: 1 });
    });
  }

  it('rejects every single-byte corruption and every truncation with RX_MODEL', () => {
    const bytes = rxSerializeModel(toy());
    for (let i = 0; i < bytes.length; i++) {
      const bad = bytes.slice();
      bad[i] ^= 0x5a;
      expect(() => rxUnserializeModel(bad), `flip at ${i}`).toThrow(RxError);
    }
    for (const n of [0, 7, 20, bytes.length - 1]) {
      try {
        rxUnserializeModel(bytes.slice(0, n));
        expect.unreachable(`truncated to ${n} should fail`);
      } catch (e) {
        expect((e as RxError).code).toBe('RX_MODEL');
      }
    }
  });

  it('refuses a newer format version and unknown kinds with a clear message', () => {
    const bytes = Buffer.from(rxSerializeModel(toy(), { compress: false }));
    bytes.writeUInt16LE(99, 8);
    bytes.writeUInt32LE(crc32(bytes.subarray(0, bytes.length - 4)), bytes.length - 4);
    expect(() => rxUnserializeModel(bytes)).toThrow(/format version 99/);
    expect(() => rxSerializeModel({ modelKind: 'nope', toJSON: () => ({}) })).toThrow(/Unknown model kind "nope"/);
  });

  it('hands the written layout version to fromJSON so older files keep loading', () => {
    seenVersions.length = 0;
    rxUnserializeModel(rxSerializeModel(toy()));
    expect(seenVersions).toEqual([2]);
  });
});
