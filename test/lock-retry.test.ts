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
  const run = <T>(fn: () => Promise<T>, attempt = 1) => new MockActivityEnvironment({ attempt, scheduledTimestampMs: Date.now() }).run(fn) as Promise<T>;
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

/**
 * Found by the soak (`npm run soak`, a worker SIGKILLed mid-LOCK on busy labs): the lost attempt's fastcopy was still
 * running on the device when the retry asked for its own, landed first, and the device refused the retry's
 * ("Destination path … already exists"); the cycle failed in LOCK. The retry must take the landed copy as this
 * run's and lock it. Here the retry's fastcopy is held back by the lab (latency) while the other attempt lands.
 */
test('a LOCK retry whose fastcopy loses the race to the lost attempt\'s takes the landed copy and locks it', async () => {
  const acts = createActivities(realDeps(t.config, { alert: async () => undefined }));
  const run = <T>(fn: () => Promise<T>, attempt = 1) => new MockActivityEnvironment({ attempt, scheduledTimestampMs: Date.now() }).run(fn) as Promise<T>;
  const state = async () => (await (await fetch(`${t.lab.endpoints.control}/state`)).json()) as { faults: unknown[] };
  t.lab.addFault({ device: 'vault-dd', match: '^filesys fastcopy .*race-copy', kind: 'latency', ms: 4000, times: 1 });
  const retry = run(() => acts.lockCopy(VAULT, 'race-copy', 300), 2);
  // The retry's fastcopy has reached the device (the fault is used up) and waits there: now the other attempt's lands.
  const deadline = Date.now() + 20_000;
  while ((await state()).faults.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  expect((await state()).faults).toHaveLength(0);
  const lost = await run(() => acts.lockCopy(VAULT, 'race-copy', 300), 1);
  const second = await retry;
  expect(second.resumed).toMatchObject({ attempt: 2, fastcopySkipped: true, untilKept: true });
  expect(second.files).toBe(lost.files);
  expect(second.lockedUntil).toBe(lost.lockedUntil);
  const root = join(t.config.vaults[0].vault.copiesMountPath, 'race-copy');
  const files = readdirSync(root, { recursive: true, withFileTypes: true }).filter((e) => e.isFile());
  expect(files.length).toBe(lost.files);
  for (const f of files) expect(Math.floor(statSync(join(f.parentPath, f.name)).atimeMs / 1000)).toBe(Math.floor(Date.parse(lost.lockedUntil) / 1000));
});
