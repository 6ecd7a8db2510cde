/**
 * The project's workflows bundled once per jest run (test/global-setup.ts writes the bundle to a file and names it
 * in IR_WORKFLOW_BUNDLE): every test file's workers, replays and spawned worker processes load that file instead
 * of bundling again (seconds each). No jest globals here: global setup imports it.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bundleWorkflowCode, type WorkflowBundleWithSourceMap } from '@temporalio/worker';

export const BUNDLE_ENV = 'IR_WORKFLOW_BUNDLE';

export function makeWorkflowBundle(): Promise<WorkflowBundleWithSourceMap> {
  const quiet = { trace() {}, debug() {}, info() {}, warn() {}, error() {} };
  return bundleWorkflowCode({ workflowsPath: require.resolve('../../workflows'), logger: quiet as never });
}

/** Bundles into `dir` and returns the code file's path (its source map beside it, `.map`). */
export async function writeWorkflowBundle(dir: string): Promise<string> {
  const { code, sourceMap } = await makeWorkflowBundle();
  const codePath = join(dir, 'workflows-bundle.js');
  writeFileSync(codePath, code);
  writeFileSync(`${codePath}.map`, sourceMap);
  return codePath;
}

/** The run's bundle when global setup made one, else a fresh one (a file run on its own without global setup). */
export function runBundle(): Promise<WorkflowBundleWithSourceMap> {
  const codePath = process.env[BUNDLE_ENV];
  if (codePath && existsSync(codePath)) return Promise.resolve({ code: readFileSync(codePath, 'utf8'), sourceMap: readFileSync(`${codePath}.map`, 'utf8') });
  return makeWorkflowBundle();
}
