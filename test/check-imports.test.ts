/** scripts/check-imports.js: a circle or an upward import fails the check, named; the project's own tree passes. */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const SCRIPT = path.join(__dirname, '..', 'scripts', 'check-imports.js');

function runCheck(root?: string): { status: number | null; out: string } {
  const r = spawnSync(process.execPath, [SCRIPT, ...(root ? [root] : [])], { encoding: 'utf8' });
  return { status: r.status, out: r.stdout + r.stderr };
}

/** Writes the tree, runs the check on it, expects it to fail: its output. */
function failingCheck(root: string, files: Record<string, string>): string {
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    writeFileSync(path.join(root, rel), text);
  }
  const r = runCheck(root);
  expect(r.status).toBe(1);
  return r.out;
}

describe('check-imports', () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(path.join(tmpdir(), 'ir-imports-'));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('fails on a circle (type-only links count) and names every import in it', () => {
    const out = failingCheck(root, {
      'activities/retention.ts': "import { lockOverRest } from './lock-rest';\nexport class LockError extends Error {}\n",
      'activities/lock-rest.ts': "import type { LockError } from './retention';\nexport const lockOverRest = 1;\n",
    });
    expect(out).toContain('import circles: 1');
    expect(out).toMatch(/circle: activities\/(lock-rest|retention)\.ts -> activities\/(lock-rest|retention)\.ts -> activities\/\1\.ts/);
    expect(out).toContain("activities/retention.ts:1 imports './lock-rest'");
    expect(out).toContain("activities/lock-rest.ts:1 imports './retention' (type only)");
  });

  it('fails on imports against the layer table and lets the allowed ones pass', () => {
    const out = failingCheck(root, {
      'workflows/messages.ts': 'export const closeAfterValues = 1;\n',
      'config/schema.ts': "import { closeAfterValues } from '../workflows/messages';\nexport const schema = closeAfterValues;\n",
      'clients/search-attributes.ts': 'export const ensureSearchAttributes = 1;\n',
      'workers/main.ts': "import { ensureSearchAttributes } from '../clients/search-attributes';\nexport default ensureSearchAttributes;\n",
      'lab/faults.ts': "export { closeAfterValues } from '../workflows/messages';\n",
      'activities/drivers/ssh.ts': "import { Context } from '@temporalio/activity';\nexport default Context;\n",
      'activities/index.ts': "import { schema } from '../config/schema';\nexport const createActivities = () => schema;\n",
      // allowed: workflows see activities as types only; test may import anything
      'workflows/cycle.ts': "import type { createActivities } from '../activities';\nexport type A = typeof createActivities;\n",
      'test/all.test.ts': "import '../clients/search-attributes';\nimport '../lab/faults';\n",
    });
    expect(out).not.toContain('import circles');
    expect(out).toContain('imports against the layer table: 4');
    expect(out).toContain("config/schema.ts:1 imports '../workflows/messages' (workflows/messages.ts): config may not import workflows");
    expect(out).toContain("workers/main.ts:1 imports '../clients/search-attributes' (clients/search-attributes.ts): workers may not import clients");
    expect(out).toContain("lab/faults.ts:1 imports '../workflows/messages' (workflows/messages.ts): lab may not import workflows");
    expect(out).toContain("activities/drivers/ssh.ts:1 imports package '@temporalio/activity': drivers may not import it");
    expect(out).not.toContain('workflows/cycle.ts');
    expect(out).not.toContain('test/all.test.ts');
  });

  it('refuses a workflow importing an activity module as a value', () => {
    const out = failingCheck(root, {
      'activities/index.ts': 'export const createActivities = () => 1;\n',
      'workflows/cycle.ts': "import { createActivities } from '../activities';\nexport const a = createActivities;\n",
    });
    expect(out).toContain("workflows/cycle.ts:1 imports '../activities' (activities/index.ts): workflows may not import activities except with import type");
  });

  it('passes on the project itself', () => {
    const r = runCheck();
    expect(r.out).toMatch(/imports ok: \d+ modules, \d+ project imports, no circle, every import follows the layer table/);
    expect(r.status).toBe(0);
  });
});
