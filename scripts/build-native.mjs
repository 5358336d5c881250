#!/usr/bin/env node
// Builds the native addon through cmake-js. All flags live in CMakeLists.txt.
//   node scripts/build-native.mjs              -> build/Release/rxscale.node (incremental)
//   node scripts/build-native.mjs --prebuild   -> prebuilds/<platform>-<arch>/rxscale.node
//                                                 (OpenBLAS linked statically; note the loader
//                                                 prefers prebuilds/ over build/Release, so
//                                                 remove it from a development checkout)
//   node scripts/build-native.mjs --prebuild --dest DIR  -> DIR/rxscale.node instead
//   RXSCALE_SANITIZE=address,undefined node scripts/build-native.mjs
//                                              -> build-asan/Release/rxscale.node (ASan + UBSan;
//                                                 how to run tests under it: test/native/README.md)
//   RXSCALE_BLAS=builtin node scripts/build-native.mjs --out build-builtin
//                                              -> portable kernels, no BLAS (also: mkl | openblas)
// Concurrent invocations are serialised with a lock file so parallel builds never
// corrupt one build tree.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, openSync, closeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const prebuild = args.includes('--prebuild');
const outIdx = args.indexOf('--out');
const outDir = outIdx >= 0 ? args[outIdx + 1] : prebuild ? 'build-prebuild' : process.env.RXSCALE_SANITIZE ? 'build-asan' : 'build';
const debug = args.includes('--debug');

function which(cmd) {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

if (!which('cmake')) {
  console.error(
    'rxscale: cannot build the native addon: cmake is not on PATH.\n' +
      '  Install cmake (>= 3.18) and a C++17 compiler, e.g. `apt-get install -y cmake g++ libopenblas-dev`,\n' +
      '  or use a release tarball that ships prebuilds/linux-x64/rxscale.node.',
  );
  process.exit(1);
}

const require = createRequire(import.meta.url);
const cmakeJs = require.resolve('cmake-js/bin/cmake-js');
const cmakeArgs = [cmakeJs, 'compile', '-O', outDir];
if (debug) cmakeArgs.push('-D');
if (prebuild) cmakeArgs.push('--CDRXSCALE_STATIC_BLAS=ON');
if (process.env.RXSCALE_SANITIZE) cmakeArgs.push(`--CDRXSCALE_SANITIZE=${process.env.RXSCALE_SANITIZE}`);
if (process.env.RXSCALE_BLAS) cmakeArgs.push(`--CDRXSCALE_BLAS=${process.env.RXSCALE_BLAS}`);
const jobs = process.env.RXSCALE_BUILD_JOBS ?? '2';
cmakeArgs.push('--parallel', jobs);

mkdirSync(join(root, outDir), { recursive: true });
const lock = join(root, outDir, '.build.lock');
closeSync(openSync(lock, 'a'));
const useFlock = which('flock');
const cmd = useFlock ? 'flock' : process.execPath;
const cmdArgs = useFlock ? [lock, process.execPath, ...cmakeArgs] : cmakeArgs;
// Use the running Node's own headers when they are installed (e.g. /usr/include/node), so
// cmake-js never needs to download them (offline machines, CI).
const env = { ...process.env };
if (!env.npm_config_nodedir) {
  const prefix = dirname(dirname(process.execPath));
  if (existsSync(join(prefix, 'include', 'node', 'node_api.h'))) env.npm_config_nodedir = prefix;
}
const r = spawnSync(cmd, cmdArgs, { cwd: root, stdio: 'inherit', env });
if (r.status !== 0) {
  console.error(`rxscale: native build failed (exit ${r.status}).`);
  process.exit(r.status ?? 1);
}
const built = join(root, outDir, debug ? 'Debug' : 'Release', 'rxscale.node');
if (!existsSync(built)) {
  console.error(`rxscale: build finished but ${built} is missing.`);
  process.exit(1);
}
const shadowing = join(root, 'prebuilds', `${process.platform}-${process.arch}`, 'rxscale.node');
if (!prebuild && outDir === 'build' && existsSync(shadowing)) {
  console.warn(`rxscale: warning: ${shadowing} exists and is loaded before build/Release; delete it to use this build.`);
}
if (prebuild) {
  // --dest DIR copies the prebuilt there instead of prebuilds/<platform>-<arch> (packaging tests
  // stage it outside the checkout: the loader prefers prebuilds/ over build/Release).
  const destIdx = args.indexOf('--dest');
  const dest = destIdx >= 0 ? resolve(args[destIdx + 1]) : join(root, 'prebuilds', `${process.platform}-${process.arch}`);
  mkdirSync(dest, { recursive: true });
  copyFileSync(built, join(dest, 'rxscale.node'));
  console.log(`rxscale: prebuilt binary written to ${join(dest, 'rxscale.node')}`);
}
