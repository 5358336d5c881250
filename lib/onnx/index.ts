/**
 * rxToOnnx: exports a fitted model to ONNX bytes. Exporters are registered by model kind
 * (`registerOnnxExporter`), so every later learner adds its own in its own change; the
 * CLI (`rxscale export-onnx`) and the models' `toOnnx()` methods go through here.
 *
 * Built-in: rxDTree, rxDForest, rxBTrees, rxFastTrees, rxFastForest (lib/onnx/trees.ts),
 * rxLinMod, rxLogit, rxGlm (lib/onnx/linear.ts).
 */
import { RxError } from '../errors.js';
import { argError } from '../validate.js';
import { type LinearModelLike, isLinearModelLike, linearModelToOnnx } from './linear.js';
import { type TreeModelLike, isTreeModelLike, treeModelToOnnx } from './trees.js';

export interface OnnxExportOptions {
  /** ONNX default-domain opset (default 21; tree models need >= 21 for TreeEnsemble). */
  opset?: number;
  /** Binary classifiers (not rxDTree): P(second level) >= cutoff gives the second level (default 0.5). */
  cutoff?: number;
}

export type OnnxExporter = (model: unknown, opts: OnnxExportOptions) => Uint8Array;

const exporters = new Map<string, OnnxExporter>();

/** Registers the ONNX exporter of a model kind (the `modelKind` / `kind` of its objects). */
export function registerOnnxExporter(kind: string, exporter: OnnxExporter): void {
  exporters.set(kind, exporter);
}

/** Model kinds with an ONNX exporter. */
export function onnxExportableKinds(): string[] {
  return [...exporters.keys()];
}

function kindOf(model: unknown): string | undefined {
  const m = model as { modelKind?: unknown; kind?: unknown };
  if (typeof m?.modelKind === 'string') return m.modelKind;
  if (typeof m?.kind === 'string') return m.kind;
  return undefined;
}

/** Exports `model` to an ONNX ModelProto (bytes). */
export function rxToOnnx(model: unknown, opts: OnnxExportOptions = {}): Uint8Array {
  if (typeof model !== 'object' || model === null) throw argError('a fitted model', 'model', model);
  if (opts.opset !== undefined && (!Number.isInteger(opts.opset) || opts.opset < 13 || opts.opset > 23))
    throw argError('an integer opset between 13 and 23', 'opset', opts.opset);
  const kind = kindOf(model);
  const ex = kind !== undefined ? exporters.get(kind) : undefined;
  if (!ex)
    throw new RxError('RX_MODEL', `No ONNX exporter for ${kind === undefined ? 'this object' : `"${kind}" models`} (exporters: ${onnxExportableKinds().join(', ')})`);
  return ex(model, opts);
}

const treeExporter: OnnxExporter = (m, o) => {
  if (!isTreeModelLike(m)) throw new RxError('RX_MODEL', 'not a tree model');
  const opts: { opset?: number; cutoff?: number } = {};
  if (o.opset !== undefined) opts.opset = o.opset;
  if (o.cutoff !== undefined) opts.cutoff = o.cutoff;
  return treeModelToOnnx(m as TreeModelLike, opts);
};
for (const k of ['rxDTree', 'rxDForest', 'rxBTrees', 'rxFastTrees', 'rxFastForest']) registerOnnxExporter(k, treeExporter);

const linearExporter: OnnxExporter = (m, o) => {
  if (!isLinearModelLike(m)) throw new RxError('RX_MODEL', 'not an rxLinMod / rxLogit / rxGlm model');
  return linearModelToOnnx(m as LinearModelLike, o.opset !== undefined ? { opset: o.opset } : {});
};
for (const k of ['rxLinMod', 'rxLogit', 'rxGlm']) registerOnnxExporter(k, linearExporter);

export { treeModelToOnnx } from './trees.js';
export { linearModelToOnnx } from './linear.js';
export { OnnxGraph, ML_DOMAIN } from './builder.js';
