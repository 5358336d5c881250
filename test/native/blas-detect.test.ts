// Configure-time BLAS vendor selection (native/cmake/blas.cmake), checked on a minimal CMake
// project that includes the real blas.cmake. MKL is not installable here, so its detection is
// exercised with a fake MKLROOT (include/mkl.h + lib/intel64/libmkl_rt.so placeholders): only
// the choice is checked, nothing is linked. Skipped when cmake is not on PATH.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const hasCmake = spawnSync('cmake', ['--version']).status === 0;
const work = mkdtempSync(join(tmpdir(), 'rxscale-blas-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const proj = join(work, 'proj');
mkdirSync(proj);
writeFileSync(join(proj, 'k.cpp'), 'int rx_dummy() { return 0; }\n');
writeFileSync(
  join(proj, 'CMakeLists.txt'),
  [
    'cmake_minimum_required(VERSION 3.18)',
    'project(blasdetect LANGUAGES C CXX)',
    'set(RXSCALE_BLAS "auto" CACHE STRING "")',
    'option(RXSCALE_STATIC_BLAS "" OFF)',
    'find_package(Threads REQUIRED)',
    'add_library(rxkernels STATIC k.cpp)',
    `include(${join(root, 'native', 'cmake', 'blas.cmake')})`,
    'get_target_property(defs rxkernels INTERFACE_COMPILE_DEFINITIONS)',
    // CMake variable reference, not a JS template
    'message(STATUS "defs: $' + '{defs}")',
  ].join('\n'),
);
const fakeMkl = join(work, 'mkl');
mkdirSync(join(fakeMkl, 'include'), { recursive: true });
mkdirSync(join(fakeMkl, 'lib', 'intel64'), { recursive: true });
writeFileSync(join(fakeMkl, 'include', 'mkl.h'), '/* placeholder */\n');
writeFileSync(join(fakeMkl, 'lib', 'intel64', 'libmkl_rt.so'), '');

let n = 0;
function configure(args: string[], env: Record<string, string | undefined> = {}) {
  const build = join(work, `b${n++}`);
  const e: NodeJS.ProcessEnv = { ...process.env, ...env };
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete e[k];
  const r = spawnSync('cmake', ['-S', proj, '-B', build, ...args], { env: e, encoding: 'utf8', timeout: 120_000 });
  const out = `${r.stdout}${r.stderr}`;
  const chosen = /rxscale BLAS: (mkl|openblas|builtin)\s*$/m.exec(out)?.[1] ?? null;
  return { status: r.status, out, chosen };
}

describe.skipIf(!hasCmake)('BLAS vendor selection (blas.cmake)', () => {
  it('auto prefers MKL when MKLROOT points at an MKL install', () => {
    const r = configure([], { MKLROOT: fakeMkl });
    expect(r.status, r.out).toBe(0);
    expect(r.chosen).toBe('mkl');
    expect(r.out).toMatch(/RXSCALE_BLAS_MKL=1/);
  }, 120_000);

  it('RXSCALE_BLAS=mkl without MKL fails with a clear message', () => {
    const r = configure(['-DRXSCALE_BLAS=mkl', '-DMKL_DIR=/nonexistent'], { MKLROOT: undefined });
    expect(r.status).not.toBe(0);
    expect(r.out).toMatch(/RXSCALE_BLAS=mkl but MKL was not found/);
  }, 120_000);

  it('auto without MKL picks OpenBLAS when it links (else the builtin kernels)', () => {
    const r = configure([], { MKLROOT: undefined });
    expect(r.status, r.out).toBe(0);
    const haveOpenblas = spawnSync('pkg-config', ['--exists', 'openblas']).status === 0;
    expect(r.chosen).toBe(haveOpenblas ? 'openblas' : expect.stringMatching(/openblas|builtin/));
  }, 120_000);

  it('RXSCALE_BLAS=builtin forces the portable kernels even with MKL present', () => {
    const r = configure(['-DRXSCALE_BLAS=builtin'], { MKLROOT: fakeMkl });
    expect(r.status, r.out).toBe(0);
    expect(r.chosen).toBe('builtin');
    expect(r.out).toMatch(/RXSCALE_BLAS_BUILTIN=1/);
  }, 120_000);

  it('rejects an unknown vendor', () => {
    const r = configure(['-DRXSCALE_BLAS=acml']);
    expect(r.status).not.toBe(0);
    expect(r.out).toMatch(/RXSCALE_BLAS must be one of auto\|mkl\|openblas\|builtin, got 'acml'/);
  }, 120_000);
});
