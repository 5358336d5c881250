/**
 * The ONLY place that loads the native addon. Order tried:
 *   1. RXSCALE_NATIVE_PATH (explicit override)
 *   2. prebuilds/<platform>-<arch>/rxscale.node (shipped in the npm tarball)
 *   3. build/Release/rxscale.node, build/Debug/rxscale.node (built from source)
 *      (build/Release goes before the prebuilt when it is newer: a local rebuild wins)
 * A failure lists every path tried, why each failed, and how to fix it.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RxError } from '../errors.js';

const require = createRequire(import.meta.url);

/** Root of the rxscale package (works from lib/ sources and from dist/lib). */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 8; i++) {
    const pj = join(dir, 'package.json');
    if (existsSync(pj)) {
      try {
        if (JSON.parse(readFileSync(pj, 'utf8')).name === 'rxscale') return dir;
      } catch {
        /* keep walking */
      }
    }
    dir = dirname(dir);
  }
  throw new RxError('RX_NATIVE_LOAD', `cannot find the rxscale package root above ${fileURLToPath(import.meta.url)}`);
}

export function candidatePaths(): string[] {
  const root = packageRoot();
  const paths: string[] = [];
  if (process.env.RXSCALE_NATIVE_PATH) paths.push(process.env.RXSCALE_NATIVE_PATH);
  const prebuilt = join(root, 'prebuilds', `${process.platform}-${process.arch}`, 'rxscale.node');
  const release = join(root, 'build', 'Release', 'rxscale.node');
  // The prebuilt binary comes first, unless a source build is newer (a developer rebuilt
  // after `npm run prebuild`): then the fresh build must not be shadowed.
  const mtime = (p: string) => (existsSync(p) ? statSync(p).mtimeMs : -1);
  if (mtime(release) > mtime(prebuilt) && mtime(prebuilt) >= 0) paths.push(release, prebuilt);
  else paths.push(prebuilt, release);
  paths.push(join(root, 'build', 'Debug', 'rxscale.node'));
  return paths;
}

let cached: { addon: Record<string, unknown>; path: string } | undefined;

export function loadAddon(): { addon: Record<string, unknown>; path: string } {
  if (cached) return cached;
  const tried: string[] = [];
  const explicit = process.env.RXSCALE_NATIVE_PATH;
  for (const p of candidatePaths()) {
    if (!existsSync(p)) {
      tried.push(`  ${p}: not found`);
      if (explicit && p === explicit) break;
      continue;
    }
    try {
      const addon = require(p) as Record<string, unknown>;
      (addon.setErrorClass as (c: unknown) => void)(RxError);
      cached = { addon, path: p };
      return cached;
    } catch (e) {
      tried.push(`  ${p}: ${(e as Error).message.split('\n')[0]}`);
      if (explicit && p === explicit) break;
    }
  }
  throw new RxError(
    'RX_NATIVE_LOAD',
    `rxscale could not load its native addon for ${process.platform}-${process.arch} (Node ${process.version}, N-API).\n` +
      `Paths tried:\n${tried.join('\n')}\n` +
      'Fix: run `npm rebuild rxscale` (needs cmake >= 3.18 and a C++17 compiler; install libopenblas-dev for full speed),\n' +
      'or set RXSCALE_NATIVE_PATH to a built rxscale.node.',
  );
}

/** The raw addon object. Area modules (lib/native/*.ts) wrap it with typed mirrors. */
export function addon<T>(): T {
  return loadAddon().addon as unknown as T;
}
