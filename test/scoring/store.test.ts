import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { RxError } from '../../lib/errors.js';
import { rxDeleteObject, rxListKeys, rxReadObject, rxWriteObject } from '../../lib/scoring/store.js';
import { ToyLinear } from '../server/toy-model.js';

const dir = mkdtempSync(join(tmpdir(), 'rxscale-store-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('rxWriteObject / rxReadObject on embedded DuckDB', () => {
  const db = join(dir, 'objects.duckdb');

  it('stores models and plain values, lists and deletes keys', async () => {
    const model = new ToyLinear(2, 1, ['a', 'b'], Float64Array.from([0, 10]));
    await rxWriteObject(db, 'model-1', model);
    await rxWriteObject(db, 'params', { alpha: 0.5, w: Float64Array.from([1, 2, Number.NaN]), tags: ['x'] });
    const back = await rxReadObject<ToyLinear>(db, 'model-1');
    expect(back).toBeInstanceOf(ToyLinear);
    expect(Array.from(back.levelEffects)).toEqual([0, 10]);
    const p = await rxReadObject<any>(db, 'params');
    expect(p.alpha).toBe(0.5);
    expect(Array.from(p.w as Float64Array)).toEqual([1, 2, Number.NaN]);
    expect(await rxListKeys(db)).toEqual(['model-1', 'params']);
    expect(await rxDeleteObject(db, 'params')).toBe(true);
    expect(await rxDeleteObject(db, 'params')).toBe(false);
    expect(await rxListKeys(db)).toEqual(['model-1']);
  });

  it('never clobbers without overwrite, and replaces with it', async () => {
    await rxWriteObject(db, 'k', { v: 1 });
    await expect(rxWriteObject(db, 'k', { v: 2 })).rejects.toMatchObject({ code: 'RX_IO' });
    expect(await rxReadObject(db, 'k')).toEqual({ v: 1 });
    await rxWriteObject(db, 'k', { v: 3 }, { overwrite: true });
    expect(await rxReadObject(db, 'k')).toEqual({ v: 3 });
  });

  it('binds hostile keys and quotes hostile table names: the table survives', async () => {
    const evil = `x'); DROP TABLE rx_objects; --`;
    await rxWriteObject(db, evil, [1, 2, 3]);
    expect(await rxReadObject(db, evil)).toEqual([1, 2, 3]);
    expect(await rxListKeys(db)).toContain('model-1');
    const table = 'odd"; DROP TABLE rx_objects; --';
    await rxWriteObject({ kind: 'duckdb', path: db, table }, 'a', 1);
    expect(await rxReadObject({ kind: 'duckdb', path: db, table }, 'a')).toBe(1);
    expect(await rxListKeys(db)).toContain('model-1');
  });

  it('reports missing keys and raw bytes round-trip with serialize: false', async () => {
    await expect(rxReadObject(db, 'nope')).rejects.toThrow(RxError);
    await rxWriteObject(db, 'raw', Uint8Array.from([1, 2, 3]), { serialize: false });
    expect(Array.from(await rxReadObject<Uint8Array>(db, 'raw', { deserialize: false }))).toEqual([1, 2, 3]);
    await expect(rxReadObject(db, 'raw')).rejects.toMatchObject({ code: 'RX_MODEL' });
  });
});
