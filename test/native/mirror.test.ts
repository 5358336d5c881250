// Every native export has a hand-written typed mirror in lib/native/<area>.ts exporting
// `<area>Exports`; this checks that the union of those arrays equals the addon's keys exactly.
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadAddon } from '../../lib/native/loader.js';

const nativeDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'lib', 'native');

describe('typed mirror of the native addon', () => {
  it('the *Exports arrays of lib/native/*.ts list exactly the addon exports', async () => {
    const declared: string[] = [];
    const owners = new Map<string, string>();
    for (const f of readdirSync(nativeDir).filter((x) => x.endsWith('.ts') && !x.endsWith('.d.ts'))) {
      const mod = (await import(pathToFileURL(join(nativeDir, f)).href)) as Record<string, unknown>;
      for (const [k, v] of Object.entries(mod)) {
        if (!k.endsWith('Exports') || !Array.isArray(v)) continue;
        for (const name of v as string[]) {
          // Each export is mirrored once (index.ts re-exports the same array objects).
          if (owners.has(name) && owners.get(name) !== k) throw new Error(`${name} is listed by both ${owners.get(name)} and ${k}`);
          if (!owners.has(name)) declared.push(name);
          owners.set(name, k);
        }
      }
    }
    const actual = Object.keys(loadAddon().addon);
    const missingMirror = actual.filter((k) => !owners.has(k));
    const missingNative = declared.filter((k) => !actual.includes(k));
    expect({ missingMirror, missingNative }).toEqual({ missingMirror: [], missingNative: [] });
    expect(declared.sort()).toEqual([...actual].sort());
    for (const k of actual) expect(typeof loadAddon().addon[k]).toBe('function');
  });
});
