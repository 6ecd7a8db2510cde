#!/usr/bin/env node
// Installs the project's npm dependencies when they are missing, so `npm run demo` and `npm test` work on a
// fresh clone. Plain CommonJS with no dependencies of its own: it runs before anything is installed.
const { existsSync } = require('node:fs');
const { spawnSync } = require('node:child_process');
const { join } = require('node:path');

const root = join(__dirname, '..');
const needed = ['@temporalio/worker', 'ssh2', 'tsx', 'zod', 'yaml'];
const missing = needed.filter((m) => !existsSync(join(root, 'node_modules', m, 'package.json')));
if (missing.length) {
  console.error(`[bootstrap] installing npm dependencies (missing: ${missing.join(', ')})`);
  const r = spawnSync('npm', ['install', '--no-audit', '--no-fund'], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status || 1);
}

// irctl runs as plain JavaScript from dist/: compile it when missing or older than its sources.
require('./build').ensureBuilt();
