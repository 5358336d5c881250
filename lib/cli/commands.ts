/**
 * The rxscale subcommands. Each has a usage line, its options and a run function; `--help`
 * on any of them prints its usage. Data arguments are file paths whose extension picks the
 * source (.csv/.tsv[.gz] text, .xdf/.arrow Arrow IPC, .parquet).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { RxError } from '../errors.js';
import { resolveInput } from '../etl/common.js';
import type { RxTextDataOptions } from '../data/text.js';
import type { DataSource } from '../data/types.js';
import { rxImport } from '../etl/import.js';
import { rxGetInfo } from '../etl/info.js';
import { rxFastLinear, rxLogisticRegression, rxNeuralNet, rxOneClassSvm } from '../ml/index.js';
import { rxGlm, rxLinMod, rxLogit } from '../models/index.js';
import { rxPredict } from '../predict.js';
import { rxNativeInfo } from '../native/info.js';
import { packageRoot } from '../native/loader.js';
import { rxToOnnx } from '../onnx/index.js';
import { rxOptions } from '../options.js';
import { isRxModel, type RxModel } from '../scoring/registry.js';
import { rxSerializeModel, rxUnserializeModel } from '../scoring/serialize.js';
import { isServeWorker, leaveCluster, reportListening, runServePrimary } from '../server/cluster.js';
import { createScoringServer } from '../server/server.js';
import { rxSummary } from '../summary/index.js';
import { dtreeToString, rxBTrees, rxDForest, rxDTree, rxFastForest, rxFastTrees, RxTreeModel } from '../trees/index.js';
import type { CliIO } from './main.js';
import { writeFileAtomic } from './main.js';

type Values = Record<string, string | boolean | string[] | undefined>;

interface Command {
  usage: string;
  summary: string;
  options: Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean; help: string }>;
  positionals: number;
  run(args: string[], values: Values, io: CliIO): Promise<number>;
}

const common = {
  json: { type: 'boolean', help: 'print JSON' },
  help: { type: 'boolean', short: 'h', help: 'show this help' },
  'rows-per-read': { type: 'string', help: 'rows per chunk' },
  threads: { type: 'string', help: 'thread budget (native pools, BLAS, workers)' },
  encoding: { type: 'string', help: 'text encoding of CSV input: utf8 (default), latin1, windows-1252' },
} as const;

/** The data source a command reads: a path or name resolved with the CSV options given on the command line. */
function inputData(data: string, values: Values, textOptions: RxTextDataOptions = {}): DataSource {
  const encoding = values.encoding;
  return resolveInput(data, 'data', encoding === undefined ? textOptions : { ...textOptions, encoding: String(encoding) });
}

const modelOptions = {
  ...common,
  out: { type: 'string', short: 'o', help: 'write the fitted model (.rxm: rxSerializeModel format)' },
  options: { type: 'string', help: 'extra fit options as JSON, e.g. \'{"dropFirst":true}\'' },
  'row-selection': { type: 'string', help: 'rows to use, e.g. "ArrDelay > 0"' },
} as const;

function jsonOption(v: unknown, what: string): Record<string, unknown> {
  if (v === undefined) return {};
  try {
    const o = JSON.parse(String(v));
    if (typeof o !== 'object' || o === null || Array.isArray(o)) throw new Error('not an object');
    return o;
  } catch (e) {
    throw new RxError('RX_ARG', `Expected a JSON object for ${what} but received ${String(v)} (${(e as Error).message})`);
  }
}

function intOption(v: unknown, what: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new RxError('RX_ARG', `Expected a positive integer for --${what} but received ${String(v)}`);
  return n;
}

function fitOptions(values: Values): Record<string, unknown> {
  const o = jsonOption(values.options, '--options');
  const rpr = intOption(values['rows-per-read'], 'rows-per-read');
  if (rpr) o.rowsPerRead = rpr;
  if (values['row-selection'] !== undefined) o.rowSelection = values['row-selection'];
  o.reportProgress ??= process.stderr.isTTY ? 2 : 0;
  return o;
}

async function saveModel(model: RxModel | object, values: Values, io: CliIO): Promise<void> {
  if (values.out === undefined) return;
  if (!isRxModel(model)) throw new RxError('RX_MODEL', 'this model cannot be serialised');
  await writeFileAtomic(String(values.out), rxSerializeModel(model));
  io.err(`model written to ${values.out}`);
}

function printModel(model: { summary?(): { toString(): string }; toString(): string; toJSON?(): unknown }, values: Values, io: CliIO): void {
  if (values.json) io.out(JSON.stringify(model.toJSON ? model.toJSON() : model, jsonReplacer, 2));
  else if (model instanceof RxTreeModel) io.out(describeTreeModel(model));
  else io.out(model.summary ? model.summary().toString() : model.toString());
}

/** rxDTree prints like rpart; ensembles print their size, task and (when computed) OOB error. */
function describeTreeModel(m: RxTreeModel): string {
  if (m.kind === 'rxDTree') return dtreeToString(m);
  const lines = [`${m.kind}: ${m.formula}`, `Task: ${m.task}; number of trees: ${m.numTrees}`];
  if (m.levels) lines.push(`Classes: ${m.levels.join(', ')}`);
  const oob = m.extra.oobError as number[] | undefined;
  if (Array.isArray(oob) && oob.length) lines.push(`Out-of-bag error after ${oob.length} trees: ${Number(oob[oob.length - 1]).toPrecision(4)}`);
  const imp = Object.entries(m.importance(true)).sort((a, b) => b[1] - a[1]).slice(0, 10);
  if (imp.length) lines.push('Variable importance (split gain, %):', ...imp.map(([k, v]) => `  ${k.padEnd(20)} ${v.toFixed(1)}`));
  return lines.join('\n');
}

export function jsonReplacer(_k: string, v: unknown): unknown {
  if (ArrayBuffer.isView(v) && !(v instanceof DataView)) return Array.from(v as unknown as ArrayLike<number>, (x) => (Number.isFinite(x) ? x : null));
  if (typeof v === 'number' && !Number.isFinite(v)) return null;
  if (typeof v === 'bigint') return Number(v);
  return v;
}

async function loadModel(file: string): Promise<RxModel> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(file);
  } catch (e) {
    throw new RxError('RX_IO', `Cannot read model file ${file}: ${(e as Error).message}`, { file });
  }
  return rxUnserializeModel(bytes);
}

const fitters: Record<string, (f: string, d: unknown, o: Record<string, unknown>) => Promise<unknown>> = {
  linmod: (f, d, o) => rxLinMod(f, d, o),
  logit: (f, d, o) => rxLogit(f, d, o),
  glm: (f, d, o) => rxGlm(f, d, o),
  dtree: (f, d, o) => rxDTree(f, d, o),
  dforest: (f, d, o) => rxDForest(f, d, o),
  btrees: (f, d, o) => rxBTrees(f, d, o),
  fasttrees: (f, d, o) => rxFastTrees(f, d, o),
  fastforest: (f, d, o) => rxFastForest(f, d, o),
  logisticregression: (f, d, o) => rxLogisticRegression(f, d, o),
  fastlinear: (f, d, o) => rxFastLinear(f, d, o),
  neuralnet: (f, d, o) => rxNeuralNet(f, d, o),
  oneclasssvm: (f, d, o) => rxOneClassSvm(f, d, o),
};
const fitNames: Record<string, string> = {
  linmod: 'rxLinMod',
  logit: 'rxLogit',
  glm: 'rxGlm',
  dtree: 'rxDTree',
  dforest: 'rxDForest',
  btrees: 'rxBTrees',
  fasttrees: 'rxFastTrees',
  fastforest: 'rxFastForest',
  logisticregression: 'rxLogisticRegression',
  fastlinear: 'rxFastLinear',
  neuralnet: 'rxNeuralNet',
  oneclasssvm: 'rxOneClassSvm',
};

function fitCommand(name: string): Command {
  return {
    usage: `rxscale ${name} <formula> <data> [--out model.rxm] [--options JSON] [--json]`,
    summary: `fit ${fitNames[name]} (e.g. rxscale ${name} "ArrDelay ~ DayOfWeek + CRSDepTime" airline.csv)`,
    options: modelOptions,
    positionals: 2,
    async run([formula, data], values, io) {
      const model = (await fitters[name]!(formula!, inputData(data!, values, { stringsAsFactors: true }), fitOptions(values))) as RxModel & { summary?(): { toString(): string }; toString(): string };
      printModel(model, values, io);
      await saveModel(model, values, io);
      return 0;
    },
  };
}

function columnsToRows(cols: Record<string, ArrayLike<unknown>>): Array<Record<string, unknown>> {
  const keys = Object.keys(cols);
  const n = keys.length ? cols[keys[0]!]!.length : 0;
  return Array.from({ length: n }, (_, i) => Object.fromEntries(keys.map((k) => [k, jsonReplacer('', cols[k]![i])])));
}

const commands: Record<string, Command> = {
  import: {
    usage: 'rxscale import <in> <out.xdf|out.parquet> [--overwrite] [--append] [--vars a,b] [--row-selection EXPR]',
    summary: 'import CSV/xdf/Parquet data into an xdf (Arrow IPC) or Parquet file',
    options: { ...common, overwrite: { type: 'boolean', help: 'replace an existing output' }, append: { type: 'boolean', help: 'append rows to the output' }, vars: { type: 'string', help: 'columns to keep, comma-separated' }, 'row-selection': { type: 'string', help: 'rows to keep' } },
    positionals: 2,
    async run([input, output], values, io) {
      const opts: Record<string, unknown> = { inData: inputData(input!, values), outFile: output, overwrite: !!values.overwrite };
      if (values.append) opts.append = 'rows';
      if (values.vars) opts.varsToKeep = String(values.vars).split(',').map((s) => s.trim());
      if (values['row-selection']) opts.rowSelection = values['row-selection'];
      const rpr = intOption(values['rows-per-read'], 'rows-per-read');
      if (rpr) opts.rowsPerRead = rpr;
      opts.reportProgress = process.stderr.isTTY ? 2 : 0;
      await rxImport(opts as unknown as Parameters<typeof rxImport>[0]);
      const info = await rxGetInfo(output!);
      if (values.json) io.out(JSON.stringify(info, jsonReplacer, 2));
      else io.out(`imported ${input} -> ${output}\n${info.toString()}`);
      return 0;
    },
  },
  info: {
    usage: 'rxscale info <data> [--vars] [--num-rows N] [--json]',
    summary: 'describe a data file: rows, columns, types, factor levels (rxGetInfo)',
    options: { ...common, vars: { type: 'boolean', help: 'include variable information' }, 'num-rows': { type: 'string', help: 'also show the first N rows' } },
    positionals: 1,
    async run([data], values, io) {
      const opts: Record<string, unknown> = { getVarInfo: !!values.vars };
      const nr = intOption(values['num-rows'], 'num-rows');
      if (nr) opts.numRows = nr;
      const info = await rxGetInfo(inputData(data!, values), opts);
      io.out(values.json ? JSON.stringify(info, jsonReplacer, 2) : info.toString());
      return 0;
    },
  },
  summary: {
    usage: 'rxscale summary <formula> <data> [--json]   e.g. rxscale summary "~ ArrDelay + DayOfWeek" airline.csv',
    summary: 'summary statistics (rxSummary)',
    options: { ...common, options: { type: 'string', help: 'extra options as JSON' } },
    positionals: 2,
    async run([formula, data], values, io) {
      const r = await rxSummary(formula!, inputData(data!, values), fitOptions(values));
      io.out(values.json ? JSON.stringify(r, jsonReplacer, 2) : r.toString());
      return 0;
    },
  },
  linmod: fitCommand('linmod'),
  logit: fitCommand('logit'),
  glm: fitCommand('glm'),
  dtree: fitCommand('dtree'),
  dforest: fitCommand('dforest'),
  btrees: fitCommand('btrees'),
  fasttrees: fitCommand('fasttrees'),
  fastforest: fitCommand('fastforest'),
  logisticregression: fitCommand('logisticregression'),
  fastlinear: fitCommand('fastlinear'),
  neuralnet: fitCommand('neuralnet'),
  oneclasssvm: fitCommand('oneclasssvm'),
  predict: {
    usage: 'rxscale predict <model.rxm> <data> [--json] [--limit N]',
    summary: 'score data with a saved model; prints a table (or JSON rows)',
    options: { ...common, limit: { type: 'string', help: 'print at most N rows (default 20; all with --json)' }, options: { type: 'string', help: 'rxPredict options as JSON' } },
    positionals: 2,
    async run([modelFile, data], values, io) {
      const model = await loadModel(modelFile!);
      const cols = await rxPredict(model, inputData(data!, values), jsonOption(values.options, '--options'));
      const rows = columnsToRows(cols);
      if (values.json) {
        io.out(JSON.stringify(rows));
        return 0;
      }
      const limit = intOption(values.limit, 'limit') ?? 20;
      const keys = Object.keys(cols);
      io.out(keys.join('\t'));
      for (const r of rows.slice(0, limit)) io.out(keys.map((k) => formatCell(r[k])).join('\t'));
      if (rows.length > limit) io.out(`... ${rows.length - limit} more rows`);
      return 0;
    },
  },
  'export-onnx': {
    usage: 'rxscale export-onnx <model.rxm> <out.onnx>',
    summary: 'export a saved model to ONNX',
    options: { help: common.help },
    positionals: 2,
    async run([modelFile, out], _values, io) {
      const model = (await loadModel(modelFile!)) as RxModel;
      await writeFileAtomic(out!, rxToOnnx(model));
      io.out(`ONNX model written to ${out}`);
      return 0;
    },
  },
  serve: {
    usage: 'rxscale serve --models <dir> [--port 8080] [--host 127.0.0.1] [--token T | RXSCALE_TOKEN] [--body-limit BYTES] [--workers N]',
    summary: 'real-time scoring server for every .rxm/.onnx model in a directory',
    options: {
      help: common.help,
      models: { type: 'string', help: 'model directory' },
      port: { type: 'string', help: 'port (default 8080)' },
      host: { type: 'string', help: 'address to listen on (default 127.0.0.1)' },
      token: { type: 'string', help: 'bearer token required on /v1 routes (or env RXSCALE_TOKEN)' },
      'body-limit': { type: 'string', help: 'maximum request body in bytes (default 8 MiB)' },
      workers: { type: 'string', help: 'server processes sharing the port (node:cluster; default 1)' },
    },
    positionals: 0,
    async run(_args, values, io) {
      if (!values.models) throw new RxError('RX_ARG', 'serve needs --models <dir>');
      const workers = intOption(values.workers, 'workers') ?? 1;
      const port = values.port !== undefined ? Number(values.port) : 8080;
      if (!Number.isInteger(port) || port < 0 || port > 65535) throw new RxError('RX_ARG', `Expected a port number for --port but received ${String(values.port)}`);
      if (workers > 1 && !isServeWorker()) {
        // the primary supervises; every worker runs this same command and listens
        await runServePrimary(workers, (line) => io.err(line));
        return 0;
      }
      if (isServeWorker()) {
        // the workers share the machine: split the native thread budget between them
        const per = Math.max(1, Math.floor(rxOptions().numThreads / workers));
        rxOptions({ numThreads: per });
      }
      const opts: Parameters<typeof createScoringServer>[0] = { modelsDir: String(values.models) };
      const token = (values.token as string | undefined) ?? process.env.RXSCALE_TOKEN;
      if (token) opts.token = token;
      const bl = intOption(values['body-limit'], 'body-limit');
      if (bl) opts.bodyLimit = bl;
      const server = await createScoringServer(opts);
      const url = await server.listen({ port, host: (values.host as string | undefined) ?? '127.0.0.1' });
      if (isServeWorker()) reportListening(url, server.models().length, server.loadErrors());
      else {
        io.err(`rxscale scoring server listening on ${url} with ${server.models().length} model(s)`);
        for (const [name, why] of Object.entries(server.loadErrors())) io.err(`  skipped ${name}: ${why}`);
      }
      await new Promise<void>((resolve) => {
        const stop = () => {
          if (!isServeWorker()) io.err('shutting down');
          server.close().then(resolve, resolve);
        };
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      leaveCluster();
      return 0;
    },
  },
  quickstart: {
    usage: 'rxscale quickstart',
    summary: 'a short tour on the bundled airline sample: info, summary, rxLinMod, rxLogit, rxDTree',
    options: { help: common.help },
    positionals: 0,
    async run(_args, _values, io) {
      const dir = rxOptions().sampleDataDir;
      const file = join(dir, 'airline_allyears2k', 'allyears2k_headers.csv');
      const t0 = Date.now();
      io.out(`rxscale quickstart (native: ${JSON.stringify({ blas: rxNativeInfo().blas, threads: rxNativeInfo().threads })})\n`);
      io.out(`== rxGetInfo(${file})`);
      // the sample's TailNum column carries Latin-1 bytes
      io.out((await rxGetInfo(resolveInput(file, 'data', { encoding: 'latin1' }))).toString());
      const data = resolveInput(file, 'data', { stringsAsFactors: true, encoding: 'latin1' });
      io.out('\n== rxSummary(~ ArrDelay + DepDelay + Distance + DayOfWeek)');
      io.out((await rxSummary('~ ArrDelay + DepDelay + Distance + F(DayOfWeek)', data, { reportProgress: 0 })).toString());
      io.out('\n== rxLinMod(ArrDelay ~ DepDelay + Distance + F(DayOfWeek))');
      io.out((await rxLinMod('ArrDelay ~ DepDelay + Distance + F(DayOfWeek)', data, { reportProgress: 0 })).summary().toString());
      io.out('\n== rxLogit(IsArrDelayed ~ CRSDepTime + Distance + UniqueCarrier)');
      io.out((await rxLogit('IsArrDelayed ~ CRSDepTime + Distance + UniqueCarrier', data, { reportProgress: 0 })).summary().toString());
      io.out('\n== rxDTree(IsArrDelayed ~ CRSDepTime + Distance + DepDelay, maxDepth 3)');
      io.out(dtreeToString(await rxDTree('IsArrDelayed ~ CRSDepTime + Distance + DepDelay', data, { maxDepth: 3 })));
      io.out(`\nquickstart finished in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
      return 0;
    },
  },
};

function formatCell(v: unknown): string {
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : v.toPrecision(7);
  return v === null || v === undefined ? 'NA' : String(v);
}

function mainHelp(): string {
  const lines = ['rxscale - chunked data analysis and machine learning (revoscalepy for Node.js)', '', 'Usage: rxscale <command> [arguments] [--help]', '', 'Commands:'];
  for (const [name, c] of Object.entries(commands)) lines.push(`  ${name.padEnd(12)} ${c.summary}`);
  lines.push('', 'Exit codes: 0 ok, 1 user error, 2 internal error.');
  return lines.join('\n');
}

function commandHelp(c: Command): string {
  const lines = [`Usage: ${c.usage}`, '', c.summary, '', 'Options:'];
  for (const [k, o] of Object.entries(c.options)) lines.push(`  --${k}${o.short ? `, -${o.short}` : ''}${o.type === 'string' ? ' <value>' : ''}`.padEnd(30) + o.help);
  return lines.join('\n');
}

export async function runCommand(argv: string[], io: CliIO): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    io.out(mainHelp());
    return name ? 0 : 1;
  }
  if (name === '--version' || name === '-v') {
    const pkg = JSON.parse(await readFile(join(packageRoot(), 'package.json'), 'utf8'));
    io.out(String(pkg.version));
    return 0;
  }
  const c = commands[name];
  if (!c) {
    io.err(`rxscale: unknown command "${name}"\n\n${mainHelp()}`);
    return 1;
  }
  const { values, positionals } = parseArgs({ args: rest, options: c.options as never, allowPositionals: true, strict: true });
  if ((values as Values).help) {
    io.out(commandHelp(c));
    return 0;
  }
  if (positionals.length !== c.positionals) {
    io.err(`rxscale ${name}: expected ${c.positionals} argument(s), got ${positionals.length}\n${commandHelp(c)}`);
    return 1;
  }
  const v = values as Values;
  const threads = intOption(v.threads, 'threads');
  if (threads) rxOptions({ numThreads: threads });
  return c.run(positionals, v, io);
}
