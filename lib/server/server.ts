/**
 * Real-time scoring server (fastify): serves every *.rxm / *.onnx model in a directory.
 *   GET  /healthz                      liveness + number of models
 *   GET  /metrics                      Prometheus text
 *   GET  /v1/models                    [{ name, kind, inputs, loadedAt }]
 *   GET  /v1/models/:name              one model's description
 *   POST /v1/models/:name/predict      JSON { rows: [...] } | { columns: {...} }, or an Arrow IPC
 *                                      stream body (Content-Type: application/vnd.apache.arrow.stream)
 * Optional bearer-token auth, a body size limit, 4xx JSON errors naming the field, and hot
 * reload: when a model file changes the new version is loaded first and then swapped in
 * atomically; requests already running finish on the model they started with. A model file
 * that fails to load is reported (log + /v1/models "errors") and skipped.
 */
import { watch, type FSWatcher } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { extname, join, resolve } from 'node:path';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { tableFromIPC } from 'apache-arrow';
import type { Chunk, Column } from '../data/types.js';
import { Metrics } from './metrics.js';
import { jsonToChunk, loadScorer, MODEL_EXTENSIONS, MODEL_NAME_RE, modelNameOf, RequestError, type Scorer } from './scorers.js';

export interface ScoringServerOptions {
  /** Directory of *.rxm / *.onnx models. */
  modelsDir: string;
  /** Bearer token; when set every /v1 route requires `Authorization: Bearer <token>`. */
  token?: string;
  /** Maximum request body in bytes (default 8 MiB). */
  bodyLimit?: number;
  /** Watch the directory and hot-reload changed models (default true). */
  watch?: boolean;
  /** fastify logger (default false). */
  logger?: boolean;
}

export interface ScoringServer {
  app: FastifyInstance;
  listen(opts?: { port?: number; host?: string }): Promise<string>;
  close(): Promise<void>;
  reload(): Promise<void>;
  models(): Scorer[];
  loadErrors(): Record<string, string>;
}

export async function createScoringServer(opts: ScoringServerOptions): Promise<ScoringServer> {
  const dir = resolve(opts.modelsDir);
  const models = new Map<string, Scorer>();
  const errors = new Map<string, string>();
  const mtimes = new Map<string, number>();
  const metrics = new Metrics();
  const bearer = opts.token ? `Bearer ${opts.token}` : '';
  const app = Fastify({ logger: opts.logger ?? false, bodyLimit: opts.bodyLimit ?? 8 * 1024 * 1024 });

  async function loadFile(file: string): Promise<void> {
    const name = modelNameOf(file);
    try {
      const s = await loadScorer(file);
      const old = models.get(name);
      models.set(name, s); // atomic swap: in-flight requests keep their reference to `old`
      errors.delete(name);
      metrics.modelLoad('ok');
      if (old && old !== s) setTimeout(() => void old.close?.(), 30_000).unref();
    } catch (e) {
      errors.set(name, (e as Error).message);
      metrics.modelLoad('error');
      app.log.error(`model ${file} skipped: ${(e as Error).message}`);
    }
  }

  async function reload(): Promise<void> {
    const files = (await readdir(dir)).filter((f) => (MODEL_EXTENSIONS as readonly string[]).includes(extname(f)) && MODEL_NAME_RE.test(modelNameOf(f)));
    const present = new Set(files.map(modelNameOf));
    for (const f of files) {
      const full = join(dir, f);
      let m: number;
      try {
        m = (await stat(full)).mtimeMs;
      } catch {
        continue;
      }
      if (mtimes.get(full) === m && (models.has(modelNameOf(f)) || errors.has(modelNameOf(f)))) continue;
      mtimes.set(full, m);
      await loadFile(full);
    }
    for (const name of [...models.keys()]) if (!present.has(name)) models.delete(name);
    for (const name of [...errors.keys()]) if (!present.has(name)) errors.delete(name);
  }

  await reload();
  let watcher: FSWatcher | undefined;
  let timer: NodeJS.Timeout | undefined;
  let reloading: Promise<void> = Promise.resolve();
  if (opts.watch ?? true) {
    watcher = watch(dir, () => {
      if (timer) clearTimeout(timer);
      timer = setTimeout(() => {
        reloading = reloading.then(reload).catch((e) => app.log.error(e));
      }, 100);
    });
  }

  const describeModel = (s: Scorer) => ({ name: s.name, kind: s.kind, inputs: s.inputs, outputs: s.outputs, loadedAt: s.loadedAt });

  app.addContentTypeParser('application/vnd.apache.arrow.stream', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
  app.setErrorHandler((err: Error & { statusCode?: number; code?: string }, _req, reply) => {
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 600 ? err.statusCode : 500;
    const message = err.code === 'FST_ERR_CTP_BODY_TOO_LARGE' ? 'request body too large' : status === 500 ? 'internal error' : err.message;
    if (status === 500) app.log.error(err);
    void reply.status(status).send({ error: message, code: err.code });
  });
  app.setNotFoundHandler((_req, reply) => void reply.status(404).send({ error: 'not found' }));

  // callback-style hooks (no promise per request); latency from fastify's own clock
  if (opts.token)
    app.addHook('onRequest', (req: FastifyRequest, reply: FastifyReply, done: () => void) => {
      if (req.url.startsWith('/v1/') && req.headers.authorization !== bearer) {
        void reply.status(401).header('www-authenticate', 'Bearer').send({ error: 'missing or invalid bearer token' });
        return;
      }
      done();
    });
  app.addHook('onResponse', (req: FastifyRequest, reply: FastifyReply, done: () => void) => {
    const route = req.routeOptions.url ?? 'unmatched';
    const model = (req.params as { name?: string } | undefined)?.name;
    metrics.observe(route, model !== undefined && models.has(model) ? model : '', reply.statusCode, reply.elapsedTime / 1000);
    done();
  });

  app.get('/healthz', async () => ({ status: 'ok', models: models.size }));
  app.get('/metrics', async (_req, reply) => reply.type('text/plain; version=0.0.4').send(metrics.render(models.size)));
  app.get('/v1/models', async () => ({ models: [...models.values()].map(describeModel), errors: Object.fromEntries(errors) }));
  app.get<{ Params: { name: string } }>('/v1/models/:name', async (req, reply) => {
    const s = lookup(req.params.name);
    if (!s) return reply.status(404).send({ error: `unknown model "${req.params.name}"` });
    return describeModel(s);
  });
  app.post<{ Params: { name: string } }>('/v1/models/:name/predict', (req, reply) => {
    const s = lookup(req.params.name);
    if (!s) {
      void reply.status(404).send({ error: `unknown model "${req.params.name}"` });
      return;
    }
    if (s.fast && !Buffer.isBuffer(req.body)) {
      // native hot path, synchronous: parsed body -> scorer input -> response text
      let text: string;
      try {
        text = s.fast.json(req.body);
      } catch (e) {
        if (e instanceof RequestError) {
          void reply.status(e.status).send({ error: e.message, field: e.field });
          return;
        }
        throw e;
      }
      void reply.header('content-type', 'application/json; charset=utf-8').send(text);
      return;
    }
    return predictGeneric(s, req.body, reply);
  });

  async function predictGeneric(s: Scorer, body: unknown, reply: FastifyReply) {
    let chunk: Chunk;
    let asRows = false;
    try {
      if (Buffer.isBuffer(body)) chunk = arrowToChunk(body, s);
      else {
        asRows = (body as { rows?: unknown } | null)?.rows !== undefined;
        chunk = jsonToChunk(body, s.inputs);
      }
    } catch (e) {
      if (e instanceof RequestError) return reply.status(e.status).send({ error: e.message, field: e.field });
      throw e;
    }
    const out = await s.score(chunk);
    const outputs: Record<string, unknown[]> = {};
    for (const [k, v] of Object.entries(out)) outputs[k] = Array.from(v as ArrayLike<unknown>, (x) => (typeof x === 'number' && !Number.isFinite(x) ? null : x));
    if (asRows) {
      const keys = Object.keys(outputs);
      const predictions = Array.from({ length: chunk.numRows }, (_, i) => Object.fromEntries(keys.map((k) => [k, outputs[k]![i]])));
      return { model: s.name, rows: chunk.numRows, predictions };
    }
    return { model: s.name, rows: chunk.numRows, outputs };
  }

  function lookup(name: string): Scorer | undefined {
    // the map holds only names that passed MODEL_NAME_RE (which rejects "../x", "a/b", "")
    const s = models.get(name);
    return s !== undefined && MODEL_NAME_RE.test(name) ? s : undefined;
  }

  return {
    app,
    async listen({ port = 8080, host = '127.0.0.1' } = {}) {
      return app.listen({ port, host });
    },
    async close() {
      watcher?.close();
      if (timer) clearTimeout(timer);
      await reloading;
      await app.close();
      for (const s of models.values()) await s.close?.();
    },
    reload,
    models: () => [...models.values()],
    loadErrors: () => Object.fromEntries(errors),
  };
}

function arrowToChunk(body: Buffer, s: Scorer): Chunk {
  let table: ReturnType<typeof tableFromIPC>;
  try {
    table = tableFromIPC(body);
  } catch (e) {
    throw new RequestError(400, `body is not an Arrow IPC stream: ${(e as Error).message}`);
  }
  const columns: Record<string, Column> = {};
  for (const info of s.inputs) {
    const v = table.getChild(info.name);
    if (!v) throw new RequestError(400, `missing column "${info.name}"`, info.name);
    const arr = v.toArray() as unknown;
    const values = ArrayBuffer.isView(arr) ? Array.from(arr as Float64Array, (x, i) => (v.isValid(i) ? Number(x) : null)) : Array.from(arr as unknown[]);
    columns[info.name] = jsonToChunk({ columns: { [info.name]: values } }, [info]).columns[info.name]!;
  }
  return { numRows: table.numRows, startRow: 0, names: s.inputs.map((i) => i.name), columns };
}
