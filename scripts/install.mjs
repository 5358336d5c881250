#!/usr/bin/env node
// npm install hook: use the prebuilt binary when one matches this platform and loads;
// otherwise build from source with cmake-js (BLAS vendor picked by CMake: MKL ->
// OpenBLAS -> built-in kernels, so a missing BLAS only makes it slower).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const prebuilt = join(root, 'prebuilds', `${process.platform}-${process.arch}`, 'rxscale.node');
if (process.env.RXSCALE_FORCE_BUILD !== '1' && existsSync(prebuilt)) {
  try {
    createRequire(import.meta.url)(prebuilt);
    console.log(`rxscale: using prebuilt binary ${prebuilt}`);
    process.exit(0);
  } catch (e) {
    console.log(`rxscale: prebuilt binary does not load here (${e.message}); building from source`);
  }
}
const r = spawnSync(process.execPath, [join(root, 'scripts', 'build-native.mjs')], { cwd: root, stdio: 'inherit' });
process.exit(r.status ?? 1);
