/**
 * LOCK retried without its checkpoint (found on the production stack: a history node killed mid-LOCK moved the
 * shard, the first attempt's heartbeats never reached the server, its heartbeat timeout fired): the retry finds the
 * copy already landed and its files locked by the first attempt, and must neither fail on them nor ask the storage
 * to change them. It recovers the lock time from the files and settles the rest to the same instant. Real lab over
 * SSH (its WORM guard refuses any time change on a locked file), real activities.
 */
import { statSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createActivities } from '../activities';
import { realDeps } from '../workers/worker';
import { startTestLab, VAULT, type TestLab } from './helpers/lab';
import type { CopyInfo } from '../workflows/cycle-messages';

jest.setTimeout(120_000);

let t: TestLab;
beforeAll(async () => {
  t = await startTestLab({ seed: { files: 20, totalBytes: 1024 * 1024 } });
});
afterAll(async () => {
  await t?.close();
});

test('a LOCK retry that lost its checkpoint keeps the first attempt lock time and succeeds', async () => {
  const acts = createActivities(realDeps(t.config, { alert: async () => undefined }));
  const run = <T>(fn: () => Promise<T>, attempt = 1) => new MockActivityEnvironment({ attempt }).run(fn) as Promise<T>;
  // Data on the replica: the link up, a sync, the gap closed again.
  await run(() => acts.openLink(VAULT, 20));
  try {
    const { syncPoint } = await run(() => acts.enableReplication(VAULT));
    await run(() => acts.awaitSync(VAULT, syncPoint, 0.2, 30));
  } finally {
    await run(() => acts.closeLink(VAULT));
  }
  expect(t.lab.vaultPortsDown()).toBe(true);

  const first = await run(() => acts.lockCopy(VAULT, 'retry-copy', 300));
  expect(first.files).toBeGreaterThan(0);
  // Later by more than the storage clock's resolution: a fresh lock time would now differ from the first one.
  await new Promise((r) => setTimeout(r, 2500));
  const second: CopyInfo = await run(() => acts.lockCopy(VAULT, 'retry-copy', 300), 2); // no heartbeat details
  expect(second.lockedUntil).toBe(first.lockedUntil);
  expect(second.files).toBe(first.files);
  expect(second.resumed).toMatchObject({ attempt: 2, fastcopySkipped: true, untilKept: true, alreadyLocked: first.files });

  // Every file of the copy is locked to exactly the first attempt's instant (seconds: the storage's resolution).
  const root = join(t.config.vaults[0].vault.copiesMountPath, 'retry-copy');
  const files = readdirSync(root, { recursive: true, withFileTypes: true }).filter((e) => e.isFile());
  expect(files.length).toBe(first.files);
  for (const f of files) expect(Math.floor(statSync(join(f.parentPath, f.name)).atimeMs / 1000)).toBe(Math.floor(Date.parse(first.lockedUntil) / 1000));
});
