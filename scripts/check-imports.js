#!/usr/bin/env node
/**
 * The import structure's guard (`npm run check:imports`, part of `npm test`): no import circle among the
 * project's modules, and every import follows the layer table below. Reads each module's relative imports
 * with the TypeScript parser: `import`, `import type`, `export … from`, `import()`, `require()`, `import x =
 * require()`, `typeof import()`; type-only ones count for circles too (they tie the modules' meaning together).
 *
 *   node scripts/check-imports.js [root]      exit 0: clean; exit 1: each offending import named, with the circle
 */
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const ts = require('typescript');

/**
 * Layers, bottom to top. A module may import its own layer and the layers in `mayImport`; `typeOnly` layers
 * only with `import type` (erased at build). The most specific folder wins (activities/drivers is `drivers`,
 * not `activities`). `packages`: npm packages the layer must not import.
 */
const TEMPORAL = /^@temporalio\//;
const LAYERS = [
  // Facts several towers share (cycle phases, switch platform names): plain data, imports nothing at all but the
  // pure-JS curves and hashes the decision signature check needs (it runs in the workflow sandbox and in irctl).
  { name: 'vocabulary', dirs: ['vocabulary'], mayImport: [], packages: [/^(?!@noble\/(curves|hashes)\/)/] },
  // The one vault schema (zod). Nothing above it: the workflow input's policy types come from here.
  { name: 'config', dirs: ['config'], mayImport: ['vocabulary'], packages: [TEMPORAL] },
  // Payload encryption and its codec server: the workers and the clients use it; it reads only the config.
  { name: 'codec', dirs: ['codec'], mayImport: ['config'] },
  // Deterministic orchestration; activities only as types (`proxyActivities<…>`), as eslint also enforces.
  { name: 'workflows', dirs: ['workflows'], mayImport: ['vocabulary', 'config'], typeOnly: ['activities'] },
  // Protocol clients for the devices and the hasher: no Temporal, nothing from the activities around them.
  { name: 'drivers', dirs: ['activities/drivers'], mayImport: ['vocabulary', 'config'], packages: [TEMPORAL] },
  { name: 'hashing', dirs: ['activities/hashing'], mayImport: ['vocabulary', 'config'], packages: [TEMPORAL] },
  // Side effects around the drivers; messages' shapes from workflows.
  { name: 'activities', dirs: ['activities'], mayImport: ['vocabulary', 'config', 'workflows', 'drivers', 'hashing'] },
  // The worker process: registers workflows and activities, prepares the server it polls.
  { name: 'workers', dirs: ['workers'], mayImport: ['vocabulary', 'config', 'codec', 'workflows', 'activities', 'drivers', 'hashing'] },
  // Entry points (irctl, schedules, the demo) and dev tooling: the top, may run a worker.
  { name: 'clients', dirs: ['clients'], mayImport: ['vocabulary', 'config', 'codec', 'workflows', 'activities', 'drivers', 'hashing', 'workers'] },
  // A separate tower: the devices' side. It imitates them on its own (prompts, errors, output shapes), so the
  // drivers are tested against an independent description; it shares only the vocabulary, never our code or config.
  { name: 'lab', dirs: ['lab'], mayImport: ['vocabulary'], packages: [TEMPORAL] },
  // Around the product: they may import anything (the product never imports them).
  { name: 'bench', dirs: ['bench'], mayImport: '*' },
  { name: 'test', dirs: ['test'], mayImport: '*' },
  // `npm run stack`: the production stack's runner (PostgreSQL, Temporal, UI, Prometheus as processes).
  { name: 'stack', dirs: ['stack'], mayImport: '*' },
  // Plain Node tooling (build, bootstrap, this check) and the package's bin shim.
  { name: 'scripts', dirs: ['scripts'], mayImport: [] },
  { name: 'bin', dirs: ['bin'], mayImport: ['scripts'] },
];

/** Single modules allowed across the table, each with its reason. */
const EXCEPTIONS = [{ from: 'clients/demo.ts', to: 'lab', why: 'the demo starts the lab simulators it runs a cycle on' }];

/** Never scanned; an import into them is outside the graph (build output, dependencies, lab/evidence state). */
const SKIP_DIRS = new Set(['node_modules', 'dist']);
const CODE = /\.(ts|tsx|mts|cts|js|mjs|cjs)$/;

function layerOf(rel) {
  let best = null;
  for (const layer of LAYERS) {
    for (const dir of layer.dirs) {
      if ((rel === dir || rel.startsWith(`${dir}/`)) && (!best || dir.length > best.dir.length)) best = { layer, dir };
    }
  }
  return best && best.layer;
}

function listModules(root) {
  const out = [];
  const walk = (dir) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      if (e.name.startsWith('.') || SKIP_DIRS.has(e.name)) continue;
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile() && CODE.test(e.name)) out.push(path.relative(root, p).split(path.sep).join('/'));
    }
  };
  for (const layer of LAYERS) for (const dir of layer.dirs) if (fs.existsSync(path.join(root, dir)) && !dir.includes('/')) walk(path.join(root, dir));
  return out.sort();
}

/** Every module specifier of a file, with its line and whether only types cross it. */
function importsOf(file, text) {
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, false, /\.(js|mjs|cjs)$/.test(file) ? ts.ScriptKind.JS : ts.ScriptKind.TS);
  const found = [];
  const add = (lit, typeOnly) => {
    if (lit && ts.isStringLiteralLike(lit)) found.push({ spec: lit.text, typeOnly, line: sf.getLineAndCharacterOfPosition(lit.getStart(sf)).line + 1 });
  };
  const allTypes = (elements) => elements.length > 0 && elements.every((e) => e.isTypeOnly);
  const visit = (node) => {
    if (ts.isImportDeclaration(node)) {
      const c = node.importClause;
      const typeOnly = !!c && (c.isTypeOnly || (!c.name && !!c.namedBindings && ts.isNamedImports(c.namedBindings) && allTypes(c.namedBindings.elements)));
      add(node.moduleSpecifier, typeOnly);
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier) {
      add(node.moduleSpecifier, node.isTypeOnly || (!!node.exportClause && ts.isNamedExports(node.exportClause) && allTypes(node.exportClause.elements)));
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
      add(node.moduleReference.expression, node.isTypeOnly);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) {
      add(node.argument.literal, true);
    } else if (ts.isCallExpression(node) && node.arguments.length >= 1) {
      const callee = node.expression;
      if (callee.kind === ts.SyntaxKind.ImportKeyword || (ts.isIdentifier(callee) && callee.text === 'require')) add(node.arguments[0], false);
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return found;
}

/** The project file a relative specifier names (`./x` → x.ts, x/index.ts; `./x.js` → x.ts as tsc does). */
function resolve(root, from, spec) {
  const base = path.resolve(root, path.dirname(from), spec);
  const candidates = [];
  if (/\.(js|mjs|cjs)$/.test(spec)) candidates.push(base.replace(/\.(m|c)?js$/, (_, m) => `.${m || ''}ts`));
  candidates.push(base);
  for (const ext of ['.ts', '.tsx', '.mts', '.cts', '.js', '.mjs', '.cjs', '.json']) candidates.push(base + ext);
  for (const ext of ['.ts', '.js']) candidates.push(path.join(base, `index${ext}`));
  const hit = candidates.find((c) => fs.existsSync(c) && fs.statSync(c).isFile());
  return hit && path.relative(root, hit).split(path.sep).join('/');
}

function buildGraph(root) {
  const modules = listModules(root);
  const edges = []; // { from, to, spec, line, typeOnly }
  const packageEdges = [];
  const unresolved = [];
  for (const from of modules) {
    for (const imp of importsOf(from, fs.readFileSync(path.join(root, from), 'utf8'))) {
      if (!imp.spec.startsWith('.')) {
        packageEdges.push({ from, ...imp });
        continue;
      }
      const to = resolve(root, from, imp.spec);
      const outside = path.relative(root, path.resolve(root, path.dirname(from), imp.spec)).split(path.sep)[0];
      if (to && layerOf(to)) edges.push({ from, to, ...imp });
      else if (!to && !SKIP_DIRS.has(outside)) unresolved.push({ from, ...imp });
    }
  }
  return { modules, edges, packageEdges, unresolved };
}

/** Strongly connected components (Tarjan, iterative); each with more than one module, or a self-import, is a circle. */
function circles(modules, edges) {
  const next = new Map(modules.map((m) => [m, []]));
  for (const e of edges) next.get(e.from).push(e);
  const index = new Map();
  const low = new Map();
  const onStack = new Set();
  const stack = [];
  const out = [];
  let counter = 0;
  for (const start of modules) {
    if (index.has(start)) continue;
    const work = [{ v: start, i: 0 }];
    index.set(start, counter);
    low.set(start, counter++);
    stack.push(start);
    onStack.add(start);
    while (work.length) {
      const top = work[work.length - 1];
      const out_ = next.get(top.v);
      if (top.i < out_.length) {
        const w = out_[top.i++].to;
        if (!index.has(w)) {
          index.set(w, counter);
          low.set(w, counter++);
          stack.push(w);
          onStack.add(w);
          work.push({ v: w, i: 0 });
        } else if (onStack.has(w)) low.set(top.v, Math.min(low.get(top.v), index.get(w)));
        continue;
      }
      work.pop();
      if (work.length) low.set(work[work.length - 1].v, Math.min(low.get(work[work.length - 1].v), low.get(top.v)));
      if (low.get(top.v) === index.get(top.v)) {
        const scc = [];
        let w;
        do {
          w = stack.pop();
          onStack.delete(w);
          scc.push(w);
        } while (w !== top.v);
        const members = new Set(scc);
        const inner = edges.filter((e) => members.has(e.from) && members.has(e.to));
        if (scc.length > 1 || inner.length > 0) out.push({ members: scc.sort(), inner });
      }
    }
  }
  return out;
}

/** Shortest path of edges from a to b inside one circle (breadth first). */
function shortestPath(inner, a, b) {
  const prev = new Map([[a, null]]);
  const queue = [a];
  while (queue.length) {
    const v = queue.shift();
    if (v === b && prev.get(v) !== null) break;
    for (const e of inner.filter((x) => x.from === v)) {
      if (!prev.has(e.to)) {
        prev.set(e.to, e);
        queue.push(e.to);
      }
    }
  }
  const pathEdges = [];
  for (let e = prev.get(b); e; e = e.from === a ? null : prev.get(e.from)) pathEdges.unshift(e);
  return pathEdges;
}

/** Cycles covering every import inside a circle, so each offending import is named once with its path. */
function cyclesOf(circle) {
  const covered = new Set();
  const cycles = [];
  for (const e of circle.inner) {
    if (covered.has(e)) continue;
    const back = e.from === e.to ? [] : shortestPath(circle.inner, e.to, e.from);
    const cycle = [e, ...back];
    for (const x of cycle) covered.add(x);
    cycles.push(cycle);
  }
  return cycles;
}

function layerViolations(edges, packageEdges) {
  const out = [];
  for (const e of edges) {
    const from = layerOf(e.from);
    const to = layerOf(e.to);
    if (from === to || from.mayImport === '*' || from.mayImport.includes(to.name)) continue;
    if (e.typeOnly && (from.typeOnly || []).includes(to.name)) continue;
    if (EXCEPTIONS.some((x) => x.from === e.from && x.to === to.name)) continue;
    const may = [...from.mayImport, ...(from.typeOnly || []).map((t) => `${t} (types only)`)];
    out.push(`${e.from}:${e.line} imports '${e.spec}' (${e.to}): ${from.name} may not import ${to.name}${from.typeOnly && from.typeOnly.includes(to.name) ? ' except with import type' : ''} (${from.name} may import: ${may.join(', ') || 'nothing from the project'})`);
  }
  for (const e of packageEdges) {
    const from = layerOf(e.from);
    if ((from.packages || []).some((re) => re.test(e.spec))) out.push(`${e.from}:${e.line} imports package '${e.spec}': ${from.name} may not import it`);
  }
  return out;
}

function check(root) {
  const { modules, edges, unresolved, packageEdges } = buildGraph(root);
  const found = circles(modules, edges);
  const violations = layerViolations(edges, packageEdges);
  const lines = [];
  for (const u of unresolved) lines.push(`unresolved import: ${u.from}:${u.line} '${u.spec}' names no file`);
  if (found.length) {
    lines.push(`import circles: ${found.length}`);
    for (const c of found) {
      for (const cycle of cyclesOf(c)) {
        lines.push(`  circle: ${[...cycle.map((e) => e.from), cycle[0].from].join(' -> ')}`);
        for (const e of cycle) lines.push(`    ${e.from}:${e.line} imports '${e.spec}'${e.typeOnly ? ' (type only)' : ''}`);
      }
    }
  }
  if (violations.length) {
    lines.push(`imports against the layer table: ${violations.length}`);
    for (const v of violations) lines.push(`  ${v}`);
  }
  const ok = lines.length === 0;
  if (ok) lines.push(`imports ok: ${modules.length} modules, ${edges.length} project imports, no circle, every import follows the layer table`);
  return { ok, lines };
}

if (require.main === module) {
  const root = path.resolve(process.argv[2] || path.join(__dirname, '..'));
  const { ok, lines } = check(root);
  (ok ? process.stdout : process.stderr).write(lines.join('\n') + '\n');
  process.exit(ok ? 0 : 1);
}

module.exports = { check, LAYERS };
