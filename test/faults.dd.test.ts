/**
 * Storage faults aimed through the lab's control API, seen by the real activities over SSH: a replication
 * that stalls (enabled, connected, nothing moving) fails CONVERGE's wait with SyncStalledError and the DD's
 * own state; a full vault refuses the copy with the DD's words.
 */
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createActivities } from '../activities';
import { realDeps } from '../workers/worker';
import { startTestLab, VAULT, type TestLab } from './helpers/lab';

let t: TestLab;

beforeAll(async () => {
  t = await startTestLab({ seed: { files: 20, totalBytes: 2 * 1024 * 1024 }, bandwidthBytesPerSec: 256 * 1024 });
});

afterAll(async () => {
  await t?.close();
});

const control = (p: string, body: unknown) => fetch(`${t.lab.endpoints.control}${p}`, { method: 'POST', body: JSON.stringify(body) }).then((r) => r.json());

test('a replication stall: the wait gives up after stallSeconds with the DD state; the gap then closes', async () => {
  const acts = createActivities(realDeps(t.config, { alert: async () => undefined }));
  const run = <T>(fn: () => Promise<T>) => new MockActivityEnvironment({ scheduledTimestampMs: Date.now() }).run(fn) as Promise<T>; // scheduled now, as a real attempt
  expect(await control('/replication/stall', { stalled: true })).toEqual({ stalled: true });
  try {
    await run(() => acts.openLink(VAULT, 20));
    const { syncPoint } = await run(() => acts.enableReplication(VAULT));
    const t0 = Date.now();
    const err = await run(() => acts.awaitSync(VAULT, syncPoint, 0.2, 1.5)).catch((e: unknown) => e);
    // createActivities puts every error through the boundary: what crosses into Temporal is its type and classification.
    expect((err as ApplicationFailure).type).toBe('SyncStalledError');
    expect((err as ApplicationFailure).nonRetryable).toBe(true);
    expect((err as Error).message).toMatch(/made no progress for 1.5 s: mtree:\/\/vault-dd\.lab\/data\/col1\/vault-prod: state \w+, connection connected, [\d,]+ bytes remaining/);
    expect(Date.now() - t0).toBeLessThan(15_000);
  } finally {
    await control('/replication/stall', { stalled: false });
    await run(() => acts.closeLink(VAULT));
  }
  expect(t.lab.vaultPortsDown()).toBe(true);
  expect(t.lab.replication().enabled).toBe(false);
});

test('a full vault: the copy is refused with the DD words, as a permanent device error', async () => {
  const acts = createActivities(realDeps(t.config, { alert: async () => undefined }));
  await control('/vault-dd/full', { full: true });
  try {
    const err = await (new MockActivityEnvironment().run(() => acts.lockCopy(VAULT, 'full-copy', 600)) as Promise<unknown>).catch((e: unknown) => e);
    expect((err as ApplicationFailure).type).toBe('DeviceCommandError');
    expect((err as ApplicationFailure).nonRetryable).toBe(true);
    expect((err as Error).message).toContain('the file system is full');
  } finally {
    await control('/vault-dd/full', { full: false });
  }
});
