#!/usr/bin/env node
// Compiles the TypeScript sources irctl runs (clients and the layers below them) to plain CommonJS in
// dist/, file by file (no bundle: irctl loads each command module only when it is run). esbuild is already
// installed (tsx depends on it); type checking stays with `tsc --noEmit` in `npm test`.
// `node scripts/build.js` always builds; ensureBuilt() builds only when dist/ is missing or older than a source.
const { existsSync, readdirSync, statSync, writeFileSync, mkdirSync } = require('node:fs');
const { join, relative } = require('node:path');

const root = join(__dirname, '..');
const SOURCE_DIRS = ['vocabulary', 'config', 'codec', 'workflows', 'activities', 'workers', 'clients'];
const STAMP = join(root, 'dist', '.build-stamp');

function sources() {
  const out = [];
  const walk = (dir) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) out.push(p);
    }
  };
  for (const d of SOURCE_DIRS) if (existsSync(join(root, d))) walk(join(root, d));
  return out;
}

/** True when a source (or this script, or package.json) is newer than the last build, or a source was added. */
function isStale(files = sources()) {
  if (!existsSync(STAMP)) return true;
  const built = statSync(STAMP).mtimeMs;
  for (const f of [...files, __filename, join(root, 'package.json')]) if (statSync(f).mtimeMs > built) return true;
  for (const f of files) if (!existsSync(join(root, 'dist', relative(root, f).replace(/\.ts$/, '.js')))) return true;
  return false;
}

function build({ quiet = false } = {}) {
  const started = Date.now();
  const files = sources();
  require('esbuild').buildSync({
    entryPoints: files,
    outdir: join(root, 'dist'),
    outbase: root,
    format: 'cjs',
    platform: 'node',
    target: 'node20',
    sourcemap: true,
    // import() of a command module becomes require(): irctl loads a command's code only when it runs.
    supported: { 'dynamic-import': false },
    logLevel: 'warning',
  });
  mkdirSync(join(root, 'dist'), { recursive: true });
  writeFileSync(STAMP, new Date().toISOString() + '\n');
  if (!quiet) console.error(`[build] ${files.length} modules compiled to dist/ in ${Date.now() - started} ms`);
}

function ensureBuilt(opts) {
  if (isStale()) build(opts);
}

module.exports = { build, ensureBuilt, isStale };

if (require.main === module) build();
