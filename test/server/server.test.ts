import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tableToIPC, tableFromArrays } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rxSerializeModel } from '../../lib/scoring/serialize.js';
import { createScoringServer, type ScoringServer } from '../../lib/server/server.js';
import { ToyLinear } from './toy-model.js';

let dir: string;
let server: ScoringServer;
let base: string;
const TOKEN = 's3cret';

const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}`, ...headers },
    body: typeof body === 'string' || Buffer.isBuffer(body) ? (body as string) : JSON.stringify(body),
  });
const get = (path: string, auth = true) => fetch(`${base}${path}`, { headers: auth ? { authorization: `Bearer ${TOKEN}` } : {} });

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rxscale-server-'));
  writeFileSync(join(dir, 'toy.rxm'), rxSerializeModel(new ToyLinear(2, 1, ['a', 'b'], Float64Array.from([0, 10]))));
  writeFileSync(join(dir, 'broken.rxm'), Buffer.from('RXSMODEL this is not a model'));
  server = await createScoringServer({ modelsDir: dir, token: TOKEN, bodyLimit: 4096 });
  base = await server.listen({ port: 0, host: '127.0.0.1' });
});
afterAll(async () => {
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('scoring server', () => {
  it('serves health, model list (skipping a corrupted file) and metrics', async () => {
    expect(await (await get('/healthz', false)).json()).toEqual({ status: 'ok', models: 1 });
    const list = (await (await get('/v1/models')).json()) as any;
    expect(list.models.map((m: any) => m.name)).toEqual(['toy']);
    expect(list.errors.broken).toMatch(/corrupted/);
    const one = (await (await get('/v1/models/toy')).json()) as any;
    expect(one.inputs).toEqual([
      { name: 'x', type: 'float64' },
      { name: 'g', type: 'factor', levels: ['a', 'b'] },
    ]);
  });

  it('scores JSON rows and columns', async () => {
    const r = await post('/v1/models/toy/predict', { rows: [{ x: 1, g: 'a' }, { x: 2, g: 'b' }, { x: null, g: 'a' }] });
    expect(r.status).toBe(200);
    expect(await r.json()).toEqual({ model: 'toy', rows: 3, predictions: [{ y_Pred: 3 }, { y_Pred: 15 }, { y_Pred: null }] });
    const c = await post('/v1/models/toy/predict', { columns: { x: [0, 1], g: ['b', 'b'] } });
    expect(await c.json()).toEqual({ model: 'toy', rows: 2, outputs: { y_Pred: [11, 13] } });
  });

  it('scores an Arrow IPC stream body', async () => {
    const t = tableFromArrays({ x: Float64Array.from([3, 4]), g: ['a', 'b'] });
    const r = await post('/v1/models/toy/predict', Buffer.from(tableToIPC(t, 'stream')), { 'content-type': 'application/vnd.apache.arrow.stream' });
    expect(r.status).toBe(200);
    expect(((await r.json()) as any).outputs.y_Pred).toEqual([7, 19]);
  });

  it('answers bad requests with 4xx JSON naming the problem, and keeps serving', async () => {
    const cases: Array<[unknown, number, RegExp]> = [
      ['{"rows": [', 400, /JSON/i],
      [{ rows: [{ x: 'NaN', g: 'a' }] }, 400, /field "x".*number/],
      [{ rows: [{ x: 1 }] }, 400, /missing field "g"/],
      [{ rows: [{ x: 1, g: 'zzz' }] }, 400, /unknown level "zzz"/],
      [{ columns: { x: [1, 2], g: ['a'] } }, 400, /column "g" has 1 values/],
      [{ nothing: true }, 400, /rows.*columns/],
      [{ rows: Array.from({ length: 400 }, () => ({ x: 1.123456789, g: 'a' })) }, 413, /too large/],
    ];
    for (const [body, status, re] of cases) {
      const r = await post('/v1/models/toy/predict', body);
      expect(r.status, JSON.stringify(body).slice(0, 40)).toBe(status);
      expect(((await r.json()) as any).error).toMatch(re);
    }
    expect((await post('/v1/models/nope/predict', { rows: [] })).status).toBe(404);
    for (const evil of ['..%2F..%2Fetc%2Fpasswd', '..%2Ftoy', '%2E%2E']) {
      const r = await post(`/v1/models/${evil}/predict`, { rows: [] });
      expect(r.status).toBe(404);
    }
    expect((await post('/v1/models/toy/predict', { rows: [{ x: 1, g: 'a' }] })).status).toBe(200);
  });

  it('requires the bearer token on /v1 routes', async () => {
    expect((await get('/v1/models', false)).status).toBe(401);
    expect((await post('/v1/models/toy/predict', { rows: [] }, { authorization: 'Bearer wrong' })).status).toBe(401);
  });

  it('exports Prometheus metrics with request counts and latency histogram', async () => {
    const text = await (await get('/metrics', false)).text();
    expect(text).toMatch(/rxscale_requests_total\{route="\/v1\/models\/:name\/predict",model="toy",status="200"\} \d+/);
    expect(text).toMatch(/rxscale_request_duration_seconds_bucket\{route="\/v1\/models\/:name\/predict",model="toy",le="\+Inf"\} \d+/);
    expect(text).toMatch(/rxscale_models_loaded 1/);
  });

  it('hot-reloads a changed model file', async () => {
    writeFileSync(join(dir, 'toy.rxm'), rxSerializeModel(new ToyLinear(3, 0, ['a', 'b'], Float64Array.from([0, 0]))));
    const deadline = Date.now() + 5000;
    let y: unknown;
    while (Date.now() < deadline) {
      const r = await post('/v1/models/toy/predict', { columns: { x: [2], g: ['a'] } });
      y = ((await r.json()) as any).outputs.y_Pred[0];
      if (y === 6) break;
      await new Promise((res) => setTimeout(res, 50));
    }
    expect(y).toBe(6);
  });
});
