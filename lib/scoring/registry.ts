/**
 * Model kinds: every fitted model class registers how to rebuild it from plain data
 * (rxUnserializeModel), and optionally how to score it and export it to ONNX. The
 * registry lets rxPredict, rxSerializeModel, the scoring server and the CLI work with
 * any model without importing every model module.
 */
import type { Chunk, ColumnInfo } from '../data/types.js';
import { RxError } from '../errors.js';

export interface RxModel {
  /** Stable kind name, e.g. 'rxLinMod', 'rxLogit', 'rxDTree'. */
  readonly modelKind: string;
  /** Plain-data representation (may contain typed arrays). */
  toJSON(): unknown;
}

/** Columns in, named output columns out. */
export type ScoreColumns = Record<string, Float64Array | Int32Array | Uint8Array | Array<string | null> | Float32Array>;

export interface ModelKind<M extends RxModel = RxModel> {
  kind: string;
  /** Version of the plain-data layout written by toJSON (bumped when it changes). */
  version: number;
  /** Rebuilds a model from toJSON output written by any version <= `version`. */
  fromJSON(json: unknown, version: number): M;
  /** Input columns the model needs to score (names, types, factor levels). */
  inputs?(model: M): ColumnInfo[];
  /** Scores a chunk of input columns; returns named output columns (used by the server and CLI). */
  score?(model: M, chunk: Chunk): ScoreColumns | Promise<ScoreColumns>;
}

const kinds = new Map<string, ModelKind>();

export function registerModelKind<M extends RxModel>(k: ModelKind<M>): void {
  kinds.set(k.kind, k as unknown as ModelKind);
}

export function getModelKind(kind: string): ModelKind {
  const k = kinds.get(kind);
  if (!k) throw new RxError('RX_MODEL', `Unknown model kind "${kind}" (known: ${[...kinds.keys()].join(', ') || 'none'})`);
  return k;
}

export function isRxModel(x: unknown): x is RxModel {
  return typeof x === 'object' && x !== null && typeof (x as RxModel).modelKind === 'string' && typeof (x as RxModel).toJSON === 'function';
}

export function registeredModelKinds(): string[] {
  return [...kinds.keys()];
}
