/**
 * PEMA contract (parallel external-memory algorithms). Every analysis is an
 * accumulator over chunks:
 *
 *   init(spec, schema)        -> State   (State: plain objects of numbers/typed arrays, structured-cloneable)
 *   process(spec, State, chunk) -> State (usually calls native kernels)
 *   merge(spec, State, State) -> State   (associative: the result does not depend on chunking)
 *   finalize(spec, State)     -> { done: true, result } | { done: false, spec }  (next pass, e.g. IRLS)
 *
 * Accumulators are registered by name so worker threads (RxLocalParallel) and other
 * compute contexts can rebuild them from (name, spec); spec must be structured-cloneable.
 */
import type { Chunk, Schema } from '../data/types.js';

export type PassResult<Spec, Result> = { done: true; result: Result } | { done: false; spec: Spec };

export interface AccumulatorDef<Spec = unknown, State = unknown, Result = unknown> {
  /** Registry key, e.g. 'rxSummary', 'rxLinMod'. */
  readonly name: string;
  /** Columns the pass needs (undefined = all). */
  columns?(spec: Spec, schema: Schema): string[] | undefined;
  init(spec: Spec, schema: Schema): State;
  process(spec: Spec, state: State, chunk: Chunk): State | Promise<State>;
  merge(spec: Spec, a: State, b: State): State;
  finalize(spec: Spec, state: State, schema: Schema): PassResult<Spec, Result> | Promise<PassResult<Spec, Result>>;
  /**
   * In-database pushdown (optional): the SQL that computes this pass's State inside the
   * database, or null when this spec cannot be pushed down (the context then streams the
   * rows to the client). In-database contexts (lib/db/compute.ts) call it once per pass;
   * for sharded databases it runs on every shard and the States are combined with merge().
   */
  pushdown?(spec: Spec, schema: Schema, sql: SqlPassContext): SqlPass<State> | null;
}

/** What an accumulator gets to write its pass as SQL (see AccumulatorDef.pushdown). */
export interface SqlPassContext {
  readonly dialect: 'duckdb' | 'postgres' | 'tsql';
  /** FROM target: the table, or a subquery applying transforms and rowSelection. */
  readonly from: string;
  /** Quotes an identifier for this dialect. */
  quote(name: string): string;
  /** Binds a value; returns its placeholder ($n or @pn). Values never enter SQL text. */
  param(value: number | string | boolean | null): string;
  /** Compiles an rxscale expression (text or AST) over the source's columns; literals become parameters. */
  expr(e: unknown): string;
  /** The dialect's double-precision type name (for CAST). */
  readonly double: string;
  /** Predicate: the SQL value is present (not NULL and, for floating point, not NaN). */
  valid(sqlValue: string): string;
}

export interface SqlPass<State> {
  /** One SELECT over sql.from; its rows (column name -> value) are handed to toState. */
  sql: string;
  toState(rows: Array<Record<string, unknown>>): State;
}

const registry = new Map<string, AccumulatorDef<any, any, any>>();

const definedIn = new Map<string, string>();

/** File of the module calling registerAccumulator (from the stack; undefined when unknown). */
function callerModule(): string | undefined {
  // Frames: [0] "Error", [1] callerModule, [2] registerAccumulator, [3] the registering module.
  const line = new Error().stack?.split('\n')[3];
  const m = line ? /((?:file:\/\/)?\/[^():\s]+\.(?:m?js|ts)):\d+:\d+\)?\s*$/.exec(line) : null;
  return m?.[1];
}

/**
 * Registers an accumulator under def.name. `moduleUrl` (default: the calling module, found
 * from the stack) tells worker-thread contexts which module to import to rebuild it.
 */
export function registerAccumulator<Spec, State, Result>(def: AccumulatorDef<Spec, State, Result>, moduleUrl?: string): AccumulatorDef<Spec, State, Result> {
  registry.set(def.name, def as AccumulatorDef<any, any, any>);
  const where = moduleUrl ?? callerModule();
  if (where) definedIn.set(def.name, where);
  return def;
}

export function getAccumulator(name: string): AccumulatorDef<any, any, any> | undefined {
  return registry.get(name);
}

/** The module (file URL or path, as seen by this thread) that registered accumulator `name`. */
export function accumulatorModule(name: string): string | undefined {
  return definedIn.get(name);
}

export function registeredAccumulators(): string[] {
  return [...registry.keys()];
}

const accumulatorModules = new Set<string>();

/**
 * Declares a JS module (file URL or absolute path of compiled JS) that registers
 * accumulators when imported. Worker-thread contexts (RxLocalParallel) import every
 * declared module before running an accumulator, so accumulators defined outside
 * rxscale's public surface can run there. Modules of rxscale itself need no declaration:
 * workers import the package's public surface (dist/lib/index.js) when a name is unknown.
 */
export function registerAccumulatorModule(url: string): void {
  accumulatorModules.add(url);
}

/** Modules declared with registerAccumulatorModule, in declaration order. */
export function registeredAccumulatorModules(): string[] {
  return [...accumulatorModules];
}
