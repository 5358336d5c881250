// Seeded generator of a mixed-type CSV for the import benchmark: ints, floats, strings,
// factor-like columns, logicals and empty fields (missing), plus a quoted text column with
// embedded commas. ~90 bytes per row: 12M rows ~ 1.1 GB.
//   node bench/gen-csv.mjs <out.csv> [rows=12000000] [seed=1]
import { closeSync, openSync, writeSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const CATS = Array.from({ length: 20 }, (_, i) => `category_${String(i).padStart(2, '0')}`);
const STATES = 'AL AK AZ AR CA CO CT DE FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY'.split(' ');
const ALPHA = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
const NOTES = ['ok', '"late, delayed"', 'cancelled', '"said ""hi"""', ''];

export const HEADER = 'id,count,price,score,name,category,state,flag,qty,note';

/** Writes `rows` rows to `file`; returns bytes written. */
export function generateCsv(file, rows = 12_000_000, seed = 1) {
  const r = rng(seed);
  const fd = openSync(file, 'w');
  let bytes = 0;
  const write = (s) => {
    const b = Buffer.from(s, 'latin1');
    writeSync(fd, b);
    bytes += b.length;
  };
  write(`${HEADER}\n`);
  const batch = 50_000;
  for (let start = 0; start < rows; start += batch) {
    const parts = [];
    const end = Math.min(rows, start + batch);
    for (let i = start; i < end; i++) {
      const count = Math.floor(r() * 1000);
      const price = r() < 0.05 ? '' : (r() * 100000).toFixed(4);
      const score = (r() * 2 - 1).toFixed(6);
      let name = '';
      const nl = 6 + Math.floor(r() * 7);
      for (let k = 0; k < nl; k++) name += ALPHA[Math.floor(r() * 62)];
      const cat = CATS[Math.floor(r() * CATS.length)];
      const st = STATES[Math.floor(r() * STATES.length)];
      const flag = r() < 0.5 ? 'TRUE' : 'FALSE';
      const qty = r() < 0.1 ? '' : String(Math.floor(r() * 100000) - 50000);
      const note = NOTES[Math.floor(r() * NOTES.length)];
      parts.push(`${i},${count},${price},${score},${name},${cat},${st},${flag},${qty},${note}`);
    }
    write(`${parts.join('\n')}\n`);
  }
  closeSync(fd);
  return bytes;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const [out, rows, seed] = process.argv.slice(2);
  if (!out) {
    console.error('usage: node bench/gen-csv.mjs <out.csv> [rows] [seed]');
    process.exit(1);
  }
  const n = generateCsv(out, rows ? Number(rows) : undefined, seed ? Number(seed) : undefined);
  console.log(`${out}: ${(n / 1e6).toFixed(1)} MB`);
}
