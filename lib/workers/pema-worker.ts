/**
 * Worker-thread entry for RxLocalParallel (runs compiled: dist/lib/workers/pema-worker.js).
 * Messages are handled strictly in arrival order (one promise chain), so a worker
 * processes its chunks in chunk-index order and its state is deterministic.
 *
 * main -> worker                                   worker -> main
 *   { t: 'begin', run, name, spec, schema, modules, hint }  (nothing; errors as 'error')
 *   { t: 'chunk', run, chunk, recycle }                 { t: 'done', run, rows, ms, buffers? }
 *   { t: 'read', run, xdf, opts, slot, of }             { t: 'done', ... } per chunk read
 *
 * 'read': the worker reads chunks k with k % of === slot of the RxXdfData file itself.
 * recycle: the accumulator keeps no chunk arrays (a transient pass), so the chunk's buffers
 * go back to the main thread (transferred) to be filled with a later chunk.
 *   { t: 'end', run }                                   { t: 'state', run, state }  (copied)
 *   { t: 'task', id, fn, args, table?, modules }        { t: 'task', id, outcome }
 *   any failure in a run                                { t: 'error', run, error }
 */
import { parentPort } from 'node:worker_threads';
import type { Chunk, ChunkOptions, Schema } from '../data/types.js';
import { RxError } from '../errors.js';
import { type ExecTask, moduleUrl, runTaskHere } from '../compute/context.js';
import { type AccumulatorDef, getAccumulator } from '../compute/pema.js';
import { serializeError } from '../compute/transfer.js';

if (!parentPort) throw new Error('pema-worker must run in a worker thread');
const port = parentPort;

const imported = new Set<string>();
let surfaceLoaded = false;

async function importModules(modules: string[]): Promise<void> {
  for (const m of modules) {
    const url = moduleUrl(m);
    if (imported.has(url)) continue;
    try {
      await import(url);
    } catch (e) {
      throw new RxError('RX_ARG', `A worker thread could not import accumulator module ${url}: ${(e as Error).message}`, { file: m, cause: e });
    }
    imported.add(url);
  }
}

async function lookup(name: string, hint: string | undefined): Promise<AccumulatorDef<any, any, any>> {
  let def = getAccumulator(name);
  if (!def && hint && !imported.has(hint)) {
    imported.add(hint);
    try {
      await import(hint);
    } catch {
      /* a stale hint: fall back to the public surface below */
    }
    def = getAccumulator(name);
  }
  if (!def && !surfaceLoaded) {
    surfaceLoaded = true;
    await import(new URL('../index.js', import.meta.url).href);
    def = getAccumulator(name);
  }
  if (!def)
    throw new RxError('RX_ARG', `Accumulator "${name}" is not registered in the worker thread: declare the module that registers it with registerAccumulatorModule(url), or run it with RxLocalSeq`, { text: name });
  return def;
}

interface RunState {
  def: AccumulatorDef<any, any, any>;
  spec: unknown;
  schema: Schema;
  state: unknown;
  started: boolean;
  failed: boolean;
}
const runs = new Map<number, RunState>();

/** Runs process() on one chunk and reports it; with `recycle`, hands the chunk's buffers back. */
async function processChunk(rs: RunState, run: number, chunk: Chunk, recycle: boolean): Promise<void> {
  const t0 = performance.now();
  if (!rs.started) {
    rs.state = rs.def.init(rs.spec, rs.schema);
    rs.started = true;
  }
  rs.state = await rs.def.process(rs.spec, rs.state, chunk);
  const ms = performance.now() - t0;
  if (!recycle) {
    port.postMessage({ t: 'done', run, rows: chunk.numRows, ms });
    return;
  }
  const buffers = new Set<ArrayBuffer>();
  for (const name of chunk.names) {
    const c = chunk.columns[name];
    if (!c) continue;
    for (const v of [c.data, c.valid]) if (ArrayBuffer.isView(v) && v.buffer instanceof ArrayBuffer && v.buffer.byteLength > 0) buffers.add(v.buffer);
  }
  const list = [...buffers];
  port.postMessage({ t: 'done', run, rows: chunk.numRows, ms, buffers: list }, list);
}

type Msg =
  | { t: 'begin'; run: number; name: string; spec: unknown; schema: Schema; modules: string[]; hint?: string }
  | { t: 'chunk'; run: number; chunk: Chunk; recycle?: boolean }
  | { t: 'read'; run: number; xdf: { file: string; rowsPerRead?: number }; opts: ChunkOptions; slot: number; of: number }
  | { t: 'end'; run: number }
  | { t: 'abort'; run: number }
  | ({ t: 'task'; id: number; modules: string[] } & ExecTask);

async function handle(msg: Msg): Promise<void> {
  switch (msg.t) {
    case 'begin': {
      const rs: RunState = { def: undefined as unknown as AccumulatorDef, spec: msg.spec, schema: msg.schema, state: undefined, started: false, failed: false };
      runs.set(msg.run, rs);
      try {
        await importModules(msg.modules);
        rs.def = await lookup(msg.name, msg.hint);
      } catch (e) {
        rs.failed = true;
        port.postMessage({ t: 'error', run: msg.run, error: serializeError(e) });
      }
      return;
    }
    case 'chunk': {
      const rs = runs.get(msg.run);
      if (!rs || rs.failed) return;
      try {
        await processChunk(rs, msg.run, msg.chunk, msg.recycle === true);
      } catch (e) {
        rs.failed = true;
        rs.state = undefined;
        port.postMessage({ t: 'error', run: msg.run, error: serializeError(e) });
      }
      return;
    }
    case 'read': {
      const rs = runs.get(msg.run);
      if (!rs || rs.failed) return;
      try {
        const { RxXdfData } = await import('../data/xdf.js');
        const src = new RxXdfData(msg.xdf.file, msg.xdf.rowsPerRead !== undefined ? { rowsPerRead: msg.xdf.rowsPerRead } : {});
        const { slot, of } = msg;
        for await (const chunk of src.chunksWhere(msg.opts, (k) => k % of === slot)) {
          if (!runs.has(msg.run)) return; // aborted
          await processChunk(rs, msg.run, chunk, false);
        }
      } catch (e) {
        rs.failed = true;
        rs.state = undefined;
        port.postMessage({ t: 'error', run: msg.run, error: serializeError(e) });
      }
      return;
    }
    case 'end': {
      const rs = runs.get(msg.run);
      runs.delete(msg.run);
      if (!rs || rs.failed) return;
      const state = rs.started ? rs.state : undefined;
      try {
        // Copied, not transferred: a state may share buffers with module-level data that
        // later runs in this worker still need (detaching them would corrupt those runs).
        port.postMessage({ t: 'state', run: msg.run, state });
      } catch (e) {
        port.postMessage({ t: 'error', run: msg.run, error: serializeError(new RxError('RX_INTERNAL', `Accumulator "${rs.def.name}" state cannot be sent between threads (it must be structured-cloneable): ${(e as Error).message}`)) });
      }
      return;
    }
    case 'abort':
      runs.delete(msg.run);
      return;
    case 'task': {
      let outcome: Awaited<ReturnType<typeof runTaskHere>>;
      try {
        await importModules(msg.modules);
        const task: ExecTask = { fn: msg.fn, args: msg.args };
        if (msg.table) task.table = msg.table;
        if (msg.file) task.file = msg.file;
        outcome = await runTaskHere(task);
      } catch (e) {
        outcome = { status: 'Error', error: e as Error };
      }
      if (outcome.status === 'OK') {
        try {
          port.postMessage({ t: 'task', id: msg.id, outcome });
        } catch (e) {
          port.postMessage({ t: 'task', id: msg.id, outcome: { status: 'Error', error: serializeError(new RxError('RX_ARG', `The task result cannot be sent between threads (it must be structured-cloneable): ${(e as Error).message}`)) } });
        }
      } else {
        port.postMessage({ t: 'task', id: msg.id, outcome: { status: 'Error', error: serializeError(outcome.error) } });
      }
      return;
    }
  }
}

let chain: Promise<void> = Promise.resolve();
port.on('message', (msg: Msg) => {
  chain = chain.then(() => handle(msg));
});
