/**
 * `irctl schedule` on the real dev server: apply reconciles (twice: no changes), a changed interval is
 * updated, a removed vault's schedule deleted, pause/resume, a trigger while a cycle runs is skipped and
 * said so, and the RPO check. Scheduled runs go to a stub cycle on the test's own task queue.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from '@temporalio/worker';
import { ScheduleNotFoundError } from '@temporalio/client';
import type { TypedSearchAttributes } from '@temporalio/common';
import { IrVault } from '../workflows/cycle-messages';
import { checkRpo } from '../clients/rpo';
import { connectTemporal, describeTemporal } from './helpers/temporal';
import { irctlWith, tempDir, writeConfig } from './helpers/irctl';

jest.setTimeout(180_000);

const H = 3600;

test('the RPO worst case: period + jitter + longest cycle, and skipped periods when a cycle outlasts the period', () => {
  expect(checkRpo({ vaultId: 'v', rpoSeconds: 24 * H, periodSeconds: 12 * H, jitterSeconds: 0.5 * H, durations: [0.25 * H, 0.5 * H] })).toMatchObject({
    worstCaseSeconds: 13 * H,
    skippedPeriods: 0,
    ok: true,
  });
  // A 5 h cycle with 2 h jitter on a 6 h period: the next start can fall while it runs and is skipped.
  const r = checkRpo({ vaultId: 'v', rpoSeconds: 12 * H, periodSeconds: 6 * H, jitterSeconds: 2 * H, durations: [5 * H] });
  expect(r).toMatchObject({ worstCaseSeconds: 2 * 6 * H + 2 * H + 5 * H, skippedPeriods: 1, ok: false });
  expect(r.detail).toContain('NOT MET');
  expect(r.detail).toContain('1 start is skipped');
  expect(checkRpo({ vaultId: 'v', periodSeconds: H, jitterSeconds: 0, durations: [] }).ok).toBeUndefined();
});

describeTemporal('irctl schedule on the dev server', () => {
  let temporal: Awaited<ReturnType<typeof connectTemporal>>;
  let dir: string;
  const run = Date.now().toString(36);
  const A = `sched-a-${run}`;
  const B = `sched-b-${run}`;
  const tq = `sched-${run}`;
  const idOf = (v: string) => `ir-cycle-schedule-${v}`;

  beforeAll(async () => {
    temporal = await connectTemporal();
    dir = tempDir('ir-sched-');
  });
  afterAll(async () => {
    for await (const s of temporal.client.schedule.list()) {
      if (s.scheduleId.endsWith(run)) await temporal.client.schedule.getHandle(s.scheduleId).delete().catch(() => undefined);
    }
    await temporal?.close();
  });

  const irctl = (config: string) => irctlWith({ IR_CONFIG: config, TEMPORAL_ADDRESS: process.env.TEMPORAL_TEST_ADDRESS, IR_TASK_QUEUE: tq });
  const every12h = { schedule: { every: '12h', jitter: '30m', catchupWindow: '10m', notes: 'test cycles' }, rpo: '24h' };

  async function waitListed(id: string): Promise<void> {
    for (let i = 0; i < 100; i++) {
      for await (const s of temporal.client.schedule.list()) if (s.scheduleId === id) return;
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`${id} never listed`);
  }

  test('apply creates one schedule per vault; a second apply prints "no changes"; a changed interval updates; a removed vault is deleted', async () => {
    const config = writeConfig(dir, { [A]: every12h, [B]: every12h });
    const first = await irctl(config)('schedule', 'apply');
    expect(first.code).toBe(0);
    expect(first.out).toContain(`created ${idOf(A)} (cycle of vault ${A})`);
    expect(first.out).toContain(`created ${idOf(B)}`);
    expect(first.out).toMatch(new RegExp(`rpo ${A}: worst-case age of the newest good copy 12h period \\+ 30m jitter \\+ 0s cycle = 12h30m ≤ rpo 1d: met`));

    // What the server holds: the interval, jitter, SKIP, the cycle workflow with IrVault set from its start.
    const desc = await temporal.client.schedule.getHandle(idOf(A)).describe();
    expect(desc.spec.intervals).toEqual([{ every: 12 * H * 1000, offset: 0 }]);
    expect(desc.spec.jitter).toBe(30 * 60 * 1000);
    expect(desc.policies).toMatchObject({ overlap: 'SKIP', catchupWindow: 600_000, pauseOnFailure: true });
    expect(desc.action).toMatchObject({ workflowType: 'isolatedRecoveryCycle', taskQueue: tq, workflowId: `ir-cycle-${A}`, args: [A, {}] });
    expect((desc.action.typedSearchAttributes as TypedSearchAttributes).get(IrVault)).toBe(A);
    expect(desc.state.note).toBe('test cycles');

    const second = await irctl(config)('schedule', 'apply');
    expect(second.code).toBe(0);
    expect(second.out.split('\n')[0]).toBe('no changes (2 schedules up to date)');

    const changed = writeConfig(dir, { [A]: { ...every12h, schedule: { ...every12h.schedule, every: '6h' } }, [B]: every12h });
    const dry = await irctl(changed)('schedule', 'apply', '--dry-run');
    expect(dry.out).toContain(`would be updated ${idOf(A)}: every 12h → 6h`);
    const updated = await irctl(changed)('schedule', 'apply');
    expect(updated.out.split('\n')[0]).toBe(`updated ${idOf(A)}: every 12h → 6h`);
    expect((await temporal.client.schedule.getHandle(idOf(A)).describe()).spec.intervals?.[0].every).toBe(6 * H * 1000);

    await waitListed(idOf(B));
    const removed = writeConfig(dir, { [A]: { ...every12h, schedule: { ...every12h.schedule, every: '6h' } } });
    const deleted = await irctl(removed)('schedule', 'apply', '--json');
    expect(deleted.code).toBe(0);
    expect(deleted.json().changes).toEqual([{ action: 'delete', scheduleId: idOf(B), kind: 'cycle', vaultId: B }]);
    await expect(temporal.client.schedule.getHandle(idOf(B)).describe()).rejects.toBeInstanceOf(ScheduleNotFoundError);
    expect((await irctl(removed)('schedule', 'apply')).out.split('\n')[0]).toBe('no changes (1 schedule up to date)');
  });

  test('a cron schedule: created, then "no changes"; its RPO period is read from the server\'s next start times', async () => {
    const C = `sched-c-${run}`;
    const config = writeConfig(dir, { [C]: { schedule: { cron: '30 2 * * *', timezone: 'UTC' }, rpo: '36h' } });
    const x = irctl(config);
    const first = await x('schedule', 'apply');
    expect(first.out).toContain(`created ${idOf(C)}`);
    const desc = await temporal.client.schedule.getHandle(idOf(C)).describe();
    expect(desc.info.nextActionTimes[0].toISOString()).toMatch(/T02:30:00\.000Z$/);
    const second = await x('schedule', 'apply');
    expect(second.out.split('\n')[0]).toBe('no changes (1 schedule up to date)');
    expect(second.out).toContain(`rpo ${C}: worst-case age of the newest good copy 1d period + 0s jitter + 0s cycle = 1d ≤ rpo 1d12h: met`);
    const hourly = writeConfig(dir, { [C]: { schedule: { cron: '30 * * * *', timezone: 'UTC' }, rpo: '36h' } });
    expect((await irctl(hourly)('schedule', 'apply')).out).toContain(`updated ${idOf(C)}: cron ["30 2 * * *"] → ["30 * * * *"]`);
    await x('schedule', 'delete', C);
  });

  test('pause and resume; apply leaves an operator\'s pause alone', async () => {
    const config = writeConfig(dir, { [A]: every12h });
    const x = irctl(config);
    await x('schedule', 'apply');
    const noReason = await x('schedule', 'pause', A);
    expect(noReason.code).toBe(2);
    expect(noReason.err).toContain('--reason is required');
    const paused = await x('schedule', 'pause', A, '--reason', 'change freeze', '--by', 'alice');
    expect(paused.code).toBe(0);
    let desc = await temporal.client.schedule.getHandle(idOf(A)).describe();
    expect(desc.state).toMatchObject({ paused: true, note: 'paused by alice: change freeze' });
    // A config change while paused: updated, still paused, the operator's note kept.
    const changed = writeConfig(dir, { [A]: { ...every12h, schedule: { ...every12h.schedule, jitter: '1h' } } });
    expect((await irctl(changed)('schedule', 'apply')).out).toContain(`updated ${idOf(A)}: jitter 30m → 1h`);
    desc = await temporal.client.schedule.getHandle(idOf(A)).describe();
    expect(desc.state).toMatchObject({ paused: true, note: 'paused by alice: change freeze' });
    expect((await x('schedule', 'describe', A)).out).toContain('PAUSED: paused by alice: change freeze');
    expect((await x('schedule', 'resume', A, '--by', 'alice')).code).toBe(0);
    expect((await temporal.client.schedule.getHandle(idOf(A)).describe()).state.paused).toBe(false);
  });

  test('a trigger while a cycle runs is skipped and said so (the schedule\'s own run, or one started by hand)', async () => {
    const T = `sched-t-${run}`;
    const config = writeConfig(dir, { [T]: { schedule: { every: '24h', jitter: '0s' } } });
    const x = irctl(config);
    await x('schedule', 'apply');
    const worker = await Worker.create({ connection: temporal.native, taskQueue: tq, workflowsPath: require.resolve('./stubs/cycle-stub') });
    await worker.runUntil(async () => {
      const first = await x('schedule', 'trigger', T, '--json');
      expect(first.code).toBe(0);
      const started = first.json();
      expect(started.outcome).toBe('started');
      expect(started.workflowId).toMatch(new RegExp(`^ir-cycle-${T}-`));
      const scheduled = temporal.client.workflow.getHandle(started.workflowId);
      await waitRunning(scheduled);

      const second = await x('schedule', 'trigger', T);
      expect(second.code).toBe(5);
      expect(second.out).toContain(`trigger skipped (overlap SKIP): a cycle of this schedule is running (${started.workflowId})`);
      const desc = await temporal.client.schedule.getHandle(idOf(T)).describe();
      expect(desc.info.numActionsSkippedOverlap).toBe(1);
      expect(desc.info.numActionsTaken).toBe(1);
      expect((await x('schedule', 'describe', T)).out).toContain('skipped (overlap) 1');
      await scheduled.signal('abort', { by: 'test', reason: 'done' });
      await scheduled.result();

      // A cycle started by hand is not the schedule's: irctl still refuses to start a second one.
      const manual = await temporal.client.workflow.start('isolatedRecoveryCycle', { taskQueue: tq, workflowId: `ir-cycle-${T}`, args: [T, {}] });
      await waitRunning(manual);
      const third = await x('schedule', 'trigger', T, '--json');
      expect(third.code).toBe(5);
      expect(third.json()).toMatchObject({ outcome: 'skipped', workflowId: `ir-cycle-${T}` });
      expect(third.json().detail).toContain('a cycle started outside this schedule is running');
      expect((await temporal.client.schedule.getHandle(idOf(T)).describe()).info.numActionsTaken).toBe(1);
      await manual.signal('abort', { by: 'test', reason: 'done' });
      await manual.result();
    });
    expect((await x('schedule', 'delete', T)).out).toContain(`deleted ${idOf(T)}`);
    expect((await x('schedule', 'trigger', T)).code).toBe(4);
  });

  test('the RPO check uses the measured cycle durations; --strict exits 1 when the schedule cannot meet rpo', async () => {
    const R = `sched-r-${run}`;
    const evidence = join(dir, 'evidence-rpo');
    // Two recorded cycles of 40 and 100 minutes, as the RECORD activity writes them.
    const entries = [40, 100].map((minutes, i) => {
      const copyId = `copy-${i}`;
      const folder = join(evidence, R, copyId);
      mkdirSync(folder, { recursive: true });
      const start = Date.parse('2026-01-01T00:00:00Z') + i * 86400_000;
      const report = join(folder, 'report.json');
      writeFileSync(report, JSON.stringify({ startedAt: new Date(start).toISOString(), phases: [{ phase: 'PREFLIGHT', startedAt: new Date(start).toISOString() }, { phase: 'RECORD', startedAt: new Date(start + minutes * 60_000).toISOString() }] }));
      return { copyId, recordedAt: new Date(start).toISOString(), outcome: 'validated', verdict: 'clean', copy: { copyId }, report };
    });
    writeFileSync(join(evidence, R, 'catalog.json'), JSON.stringify(entries));
    const tight = writeConfig(dir, { [R]: { schedule: { every: '6h', jitter: '1h' }, rpo: '8h' } }, evidence);
    const strict = await irctl(tight)('schedule', 'apply', '--strict');
    expect(strict.code).toBe(1);
    expect(strict.out).toContain(`rpo ${R}: worst-case age of the newest good copy 6h period + 1h jitter + 1h40m cycle = 8h40m > rpo 8h: NOT MET (2 measured cycles, longest 1h40m)`);
    const lenient = await irctl(tight)('schedule', 'describe', R, '--json');
    expect(lenient.code).toBe(0);
    expect(lenient.json().rpo).toMatchObject({ ok: false, worstCaseSeconds: 8 * H + 40 * 60, measuredCycles: 2 });
    expect((await irctl(tight)('schedule', 'describe', R, '--strict')).code).toBe(1);
    const loose = writeConfig(dir, { [R]: { schedule: { every: '6h', jitter: '1h' }, rpo: '12h' } }, evidence);
    const ok = await irctl(loose)('schedule', 'apply', '--strict');
    expect(ok.code).toBe(0);
    expect(ok.out).toContain('= 8h40m ≤ rpo 12h: met');
    await irctl(loose)('schedule', 'delete', R);
  });

  async function waitRunning(handle: { query(name: string): Promise<unknown> }): Promise<void> {
    for (let i = 0; i < 150; i++) {
      if (await handle.query('status').then(() => true, () => false)) return;
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error('the stub cycle never ran');
  }
});
