#!/usr/bin/env node
// Runs benchmarks and writes machine-readable results to bench/results/<name>.json.
//   npm run bench                 -> every bench/*.bench.mjs
//   npm run bench -- csv linmod   -> only those whose file name contains a filter
import { readdirSync, mkdirSync, writeFileSync, renameSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { machineInfo } from './lib.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const filters = process.argv.slice(2);
const files = readdirSync(here).filter((f) => f.endsWith('.bench.mjs')).filter((f) => filters.length === 0 || filters.some((x) => f.includes(x))).sort();
const { rxNativeInfo } = await import(pathToFileURL(join(here, '..', 'dist', 'lib', 'index.js')).href);
mkdirSync(join(here, 'results'), { recursive: true });
let failed = 0;
for (const f of files) {
  const name = f.replace(/\.bench\.mjs$/, '');
  console.log(`== ${name}`);
  const started = new Date().toISOString();
  try {
    const mod = await import(pathToFileURL(join(here, f)).href);
    const results = await mod.default({ log: (...a) => console.log(`  [${name}]`, ...a) });
    const out = { benchmark: name, started, finished: new Date().toISOString(), machine: machineInfo(), native: rxNativeInfo(), results };
    const dest = join(here, 'results', `${name}.json`);
    writeFileSync(`${dest}.tmp`, `${JSON.stringify(out, null, 2)}\n`);
    renameSync(`${dest}.tmp`, dest);
    for (const r of results) console.log(`  ${JSON.stringify(r)}`);
  } catch (e) {
    failed++;
    console.error(`  ${name} failed: ${e.stack ?? e}`);
  }
}
process.exit(failed ? 1 : 0);
