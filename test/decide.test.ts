/**
 * DECIDE on the real dev server against the lab: a copy waits for people with the gap closed (asked of the lab's
 * switch and vault DD), updates' validators refuse with a reason and change nothing, signals that are refused are
 * named in the status, the timeout applies its default, abort ends the wait, the two-person rule, approval before
 * the gap opens. After every test the lab's switch shows every vault port down and replication disabled.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import { createWorker } from '../workers/worker';
import { isolatedRecoveryCycle } from '../workflows';
import { IrDecision, IrGapState, IrPhase, statusQuery, type CycleResult } from '../workflows/cycle-messages';
import { abortUpdate, approveSignal, approveUpdate, rejectSignal, rejectUpdate, type DecisionRequest } from '../workflows/operator-messages';
import { readCatalog, isGoodCopy } from '../activities/catalog';
import { bundleWorkflows, connectTemporal, describeTemporal } from './helpers/temporal';
import { startTestLab, VAULT, type TestLab } from './helpers/lab';
import { outcomeOf, recordHistory, waitForDecide, waitForStatus } from './helpers/decide';

jest.setTimeout(180_000);

let bundle: WorkflowBundleWithSourceMap;
let temporal: Awaited<ReturnType<typeof connectTemporal>>;
let t: TestLab | undefined;
let seq = 0;

/** The reason a validator gave, from the update's failure. */
async function refusal(p: Promise<unknown>): Promise<string> {
  const err = await p.then(
    () => {
      throw new Error('the update was expected to be refused');
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(WorkflowUpdateFailedError);
  return ((err as WorkflowUpdateFailedError).cause as Error).message;
}

/** Updates the server accepted (a validator's refusal never reaches history). */
async function acceptedUpdates(handle: WorkflowHandle): Promise<number> {
  const history = await handle.fetchHistory();
  return (history.events ?? []).filter((e) => e.workflowExecutionUpdateAcceptedEventAttributes).length;
}

function firstCopyFile(result: CycleResult): string {
  const line = readFileSync(result.validation!.copy.path, 'utf8').split('\n')[0];
  return line.replace(/^\\?[0-9a-f]+ [ *]/, '');
}

describeTemporal('DECIDE: people approve or reject a copy, always with the gap closed', () => {
  beforeAll(async () => {
    bundle = await bundleWorkflows();
    temporal = await connectTemporal();
  });
  afterAll(async () => {
    await temporal?.close();
  });
  afterEach(async () => {
    if (!t) return;
    expect(t.lab.vaultPortsDown()).toBe(true);
    expect(t.lab.replication().enabled).toBe(false);
    await t.close();
    t = undefined;
  });

  const lab = async (approval: Record<string, unknown>) => {
    t = await startTestLab({ bandwidthBytesPerSec: 8 * 1024 * 1024 }, { approval });
    return t;
  };
  const worker = (taskQueue: string) => createWorker({ connection: temporal.native, config: t!.config, taskQueue, workflowBundle: bundle });
  const start = (taskQueue: string, policy: Record<string, unknown> = {}) =>
    temporal.client.workflow.start(isolatedRecoveryCycle, { taskQueue, workflowId: `decide-${Date.now()}-${seq++}`, args: [VAULT, policy] });
  const approve = (handle: WorkflowHandle, req: unknown) => handle.executeUpdate(approveUpdate, { args: [req as DecisionRequest] });

  test('a suspect copy waits with the gap closed; refused requests change nothing; approve makes it good', async () => {
    const { lab: l, config } = await lab({ approvers: ['alice', 'bob'] }); // when: suspect (the default), timeout 24h
    const tq = `decide-approve-${seq}`;
    const w = await worker(tq);
    await w.runUntil(async () => {
      // A clean copy is not asked about; a decision sent meanwhile is refused: nothing awaits one.
      const baseline = await start(tq);
      expect(await refusal(approve(baseline, { by: 'alice', reason: 'too early' }))).toMatch(/^nothing awaits a decision: the cycle is in PREFLIGHT/);
      expect((await baseline.result()).outcome).toBe('validated');

      await l.ransomware(5);
      const handle = await start(tq);
      const waiting = await waitForDecide(handle);
      // Invariant 4, asked of the lab's devices: ports down, replication disabled, while a person is awaited.
      expect(l.vaultPortsDown()).toBe(true);
      expect(l.replication().enabled).toBe(false);
      expect(waiting.gap).toBe('closed');
      expect(waiting.verdict).toBe('suspect');
      const close = waiting.phases.find((p) => p.phase === 'CLOSE')!;
      expect(Date.parse(close.endedAt!)).toBeLessThanOrEqual(Date.parse(waiting.decisions![0].askedAt));
      expect(Date.parse(waiting.exposure.closedAt!)).toBeLessThanOrEqual(Date.parse(waiting.decisions![0].askedAt));
      expect(waiting.decisions![0]).toMatchObject({ stage: 'after-validate', state: 'pending', onTimeout: 'reject', timeoutSeconds: 86400, quorum: 1, approvers: ['alice', 'bob'] });
      expect(waiting.decisions![0].why).toContain('suspect');
      const attrs = (await handle.describe()).typedSearchAttributes;
      expect(attrs.get(IrPhase)).toBe('DECIDE');
      expect(attrs.get(IrDecision)).toBe('pending');
      expect(attrs.get(IrGapState)).toBe('closed');

      // Each refusal names its reason, and nothing changes: same decision state, no update in history.
      expect(await refusal(approve(handle, { by: 'alice' }))).toContain('approve payload field "reason" is required');
      expect(await refusal(approve(handle, { by: 'alice', reason: 'ok', colour: 'blue' }))).toContain('unknown field "colour"');
      expect(await refusal(approve(handle, 'yes'))).toContain('approve payload must be an object like {"by":"alice"');
      expect(await refusal(approve(handle, { by: 'mallory', reason: 'trust me' }))).toBe('mallory is not an approver of vault lab-vault (approval.approvers: alice, bob)');
      expect(await refusal(handle.executeUpdate(rejectUpdate, { args: [{ by: 'mallory', reason: 'x' }] }))).toContain('mallory is not an approver');
      const after = await handle.query(statusQuery);
      expect(after.decisions).toEqual(waiting.decisions);
      expect(after.phase).toBe('DECIDE');
      expect(await acceptedUpdates(handle)).toBe(0);

      const reply = await approve(handle, { by: 'alice', reason: 'quarterly re-encryption of the archive, expected', ticket: 'CHG-1234' });
      expect(reply.message).toBe('approved by alice: the copy counts as good');
      const result = await handle.result();
      await recordHistory(handle, 'cycle-decide-approved');
      expect(result.outcome).toBe('approved');
      expect(result.verdict).toBe('suspect');
      // closeAfter converge (the default): the gap closes before LOCK, and DECIDE waits after the close path.
      expect(result.phases.map((p) => p.phase)).toEqual(['PREFLIGHT', 'OPEN', 'REPLICATE', 'CONVERGE', 'CLOSE', 'LOCK', 'VALIDATE', 'DECIDE', 'RECORD']);
      expect(result.decisions![0]).toMatchObject({ state: 'approved', by: 'alice', reason: 'quarterly re-encryption of the archive, expected', ticket: 'CHG-1234' });
      expect((await handle.describe()).typedSearchAttributes.get(IrDecision)).toBe('approved');
      // Good copy in the catalog (drills may use it); who, when and why in the report.
      const entry = (await readCatalog(config.evidenceDir, VAULT)).find((e) => e.copyId === result.copyId)!;
      expect(entry.outcome).toBe('approved');
      expect(isGoodCopy(entry)).toBe(true);
      expect(entry.decision).toMatchObject({ state: 'approved', by: 'alice', ticket: 'CHG-1234' });
      const md = readFileSync(result.report!.markdownPath, 'utf8');
      expect(md).toContain('## Decision (after validation, gap closed)');
      expect(md).toContain(`| decided by | alice at ${result.decisions![0].decidedAt} |`);
      expect(md).toContain('| why | quarterly re-encryption of the archive, expected |');
      expect(md).toContain('| timeout | 24h (deadline ');
    });
  });

  test('two-person rule: the same person twice is refused; a refused signal is named in the status', async () => {
    await lab({ when: 'always', quorum: 2 });
    const tq = `decide-quorum-${seq}`;
    const w = await worker(tq);
    await w.runUntil(async () => {
      const handle = await start(tq);
      await waitForDecide(handle);
      const first = await approve(handle, { by: 'alice', reason: 'looks right' });
      expect(first.message).toBe('approval 1 of 2 recorded from alice; waiting for another approver');
      expect(await refusal(approve(handle, { by: 'alice', reason: 'really' }))).toBe('alice has already approved: approval.quorum 2 needs 1 more approval(s) from another person');
      // Signals cannot answer: a refused one is named in status.rejectedMessages, and changes nothing.
      await handle.signal(approveSignal, { by: '', reason: 'blank name' });
      await handle.signal(approveSignal, { by: 'alice', reason: 'third time' });
      const s = await waitForStatus(handle, (x) => x.rejectedMessages.length === 2, 'two rejected signals');
      expect(s.rejectedMessages[0]).toContain('approve rejected: approve payload field "by" is required');
      expect(s.rejectedMessages[1]).toContain('approve rejected: alice has already approved');
      expect(s.decisions![0].approvals.map((a) => a.by)).toEqual(['alice']);
      expect(s.phase).toBe('DECIDE');
      await handle.signal(approveSignal, { by: 'bob', reason: 'second pair of eyes', ticket: 'CHG-9' });
      const result = await handle.result();
      await recordHistory(handle, 'cycle-decide-two-person');
      expect(result.outcome).toBe('validated'); // a clean copy, approved by two people
      expect(result.decisions![0]).toMatchObject({ state: 'approved', by: 'alice, bob', ticket: 'CHG-9' });
      expect(readFileSync(result.report!.markdownPath, 'utf8')).toContain('| rule | quorum 2, any approver |');
    });
  });

  test('a rejected copy stays locked and untouched, and is marked rejected in the catalog', async () => {
    const { lab: l, config } = await lab({ when: 'always' });
    const tq = `decide-reject-${seq}`;
    const w = await worker(tq);
    await w.runUntil(async () => {
      const handle = await start(tq);
      await waitForDecide(handle);
      await handle.signal(rejectSignal, { by: 'carol', reason: 'unexpected files in finance/', ticket: 'INC-42' });
      const result = await handle.result();
      await recordHistory(handle, 'cycle-decide-rejected');
      expect(result.outcome).toBe('rejected');
      expect(result.decisions![0]).toMatchObject({ state: 'rejected', by: 'carol', reason: 'unexpected files in finance/', ticket: 'INC-42' });
      // Still locked on the vault DD, every file still there.
      expect(l.lockOf(`${result.copyId}/${firstCopyFile(result)}`).locked).toBe(true);
      const copyDir = join(config.vaults[0].vault.copiesMountPath, result.copyId);
      expect(existsSync(copyDir)).toBe(true);
      expect(countFiles(copyDir)).toBe(result.copy!.files);
      const entry = (await readCatalog(config.evidenceDir, VAULT)).find((e) => e.copyId === result.copyId)!;
      expect(entry.outcome).toBe('rejected');
      expect(isGoodCopy(entry)).toBe(false);
      expect(entry.decision).toMatchObject({ state: 'rejected', by: 'carol', reason: 'unexpected files in finance/' });
      expect((await handle.describe()).typedSearchAttributes.get(IrDecision)).toBe('rejected');
    });
  });

  test('no decision before the timeout: the default (reject) applies, is said in the report, and a late decision is refused', async () => {
    await lab({ when: 'always', timeout: '3s' });
    const tq = `decide-timeout-${seq}`;
    let handle: WorkflowHandle<typeof isolatedRecoveryCycle> | undefined;
    await (await worker(tq)).runUntil(async () => {
      handle = await start(tq);
      await waitForDecide(handle);
    });
    // No worker runs while the deadline passes: the late update and the timer reach the workflow together,
    // and the validator sees the deadline has passed.
    await new Promise((r) => setTimeout(r, 4500));
    const late = approve(handle!, { by: 'alice', reason: 'sorry, was in a meeting' });
    late.catch(() => undefined);
    const result = await (await worker(tq)).runUntil(async () => {
      expect(await refusal(late)).toMatch(/^too late: the decision deadline .* has passed \(reject by default\)$/);
      return handle!.result();
    });
    await recordHistory(handle!, 'cycle-decide-timeout');
    expect(result.outcome).toBe('rejected');
    expect(result.decisions![0]).toMatchObject({ state: 'rejected', by: 'timeout', timedOut: true, timeoutSeconds: 3, onTimeout: 'reject' });
    expect(result.decisions![0].reason).toBe('no decision within 3s: rejected by default (approval.onTimeout: reject)');
    const md = readFileSync(result.report!.markdownPath, 'utf8');
    expect(md).toContain('| decision | **rejected** (timeout) |');
    expect(md).toContain('without a decision: reject');
    expect(md).toContain('no decision within 3s: rejected by default');
  });

  test('abort in DECIDE ends the wait without a decision; a malformed abort is refused; the copy is not good', async () => {
    const { config } = await lab({ when: 'always' });
    const tq = `decide-abort-${seq}`;
    const w = await worker(tq);
    await w.runUntil(async () => {
      const handle = await start(tq);
      await waitForDecide(handle);
      expect(await refusal(handle.executeUpdate(abortUpdate, { args: [{ by: 'dave', reason: 42 } as any] }))).toContain('abort payload field "reason" must be a string');
      const reply = await handle.executeUpdate(abortUpdate, { args: [{ by: 'dave', reason: 'vault maintenance starts', ticket: 'CHG-7' }] });
      expect(reply.message).toBe('aborted in DECIDE by dave: no decision on the copy; the cycle records and ends');
      const { result, message } = await outcomeOf(handle);
      await recordHistory(handle, 'cycle-decide-aborted');
      expect(message).toContain('cycle aborted in DECIDE: aborted by dave: vault maintenance starts');
      expect(result.outcome).toBe('aborted');
      expect(result.gap).toBe('closed');
      expect(result.abort).toMatchObject({ by: 'dave', reason: 'vault maintenance starts', ticket: 'CHG-7' });
      expect(result.decisions![0].state).toBe('aborted');
      const entry = (await readCatalog(config.evidenceDir, VAULT)).find((e) => e.copyId === result.copyId)!;
      expect(isGoodCopy(entry)).toBe(false);
      expect((await handle.describe()).typedSearchAttributes.get(IrDecision)).toBe('aborted');
    });
  });

  test('approval before open: silence ends the cycle without touching the gap; an approval opens it', async () => {
    const { lab: l } = await lab({ when: 'never', beforeOpen: true, beforeOpenTimeout: '2s' });
    const tq = `decide-before-open-${seq}`;
    const w = await worker(tq);
    await w.runUntil(async () => {
      const silent = await start(tq);
      const asked = await waitForStatus(silent, (s) => s.decisions?.[0]?.state === 'pending', 'approval before open');
      expect(asked.phase).toBe('PREFLIGHT');
      expect(asked.decisions![0]).toMatchObject({ stage: 'before-open', onTimeout: 'reject', timeoutSeconds: 2 });
      expect((await silent.describe()).typedSearchAttributes.get(IrDecision)).toBe('pending');
      const ended = await silent.result();
      await recordHistory(silent, 'cycle-approve-before-open-timeout');
      expect(ended.outcome).toBe('rejected');
      expect(ended.phases.map((p) => p.phase)).toEqual(['PREFLIGHT', 'RECORD']);
      expect(ended.exposure.openedAt).toBeUndefined();
      expect(ended.decisions![0].reason).toBe('no decision within 2s: rejected by default (before open, a timeout never opens the gap)');
      expect(l.vaultPortsDown()).toBe(true);

      const approved = await start(tq, { approval: { beforeOpenTimeout: '2m' } });
      await waitForStatus(approved, (s) => s.decisions?.[0]?.state === 'pending', 'approval before open');
      expect(l.vaultPortsDown()).toBe(true); // nothing opened while waiting
      const reply = await approve(approved, { by: 'erin', reason: 'change window CHG-77 open', ticket: 'CHG-77' });
      expect(reply.message).toBe('approved by erin: the cycle opens the gap');
      const result = await approved.result();
      await recordHistory(approved, 'cycle-approve-before-open-approved');
      expect(result.outcome).toBe('validated');
      expect(result.phases.map((p) => p.phase)).toEqual(['PREFLIGHT', 'OPEN', 'REPLICATE', 'CONVERGE', 'CLOSE', 'LOCK', 'VALIDATE', 'RECORD']);
      expect(Date.parse(result.exposure.openedAt!)).toBeGreaterThanOrEqual(Date.parse(result.decisions![0].decidedAt!));
    });
  });

  test('approval before open with a port found open: the gap is closed first, nobody is asked with it open', async () => {
    const { lab: l } = await lab({ beforeOpen: true });
    l.setPort(l.endpoints.switch.vaultPorts[0], 'up'); // opened by hand, or left by a crash
    expect(l.vaultPortsDown()).toBe(false);
    const tq = `decide-before-open-gap-${seq}`;
    const w = await worker(tq);
    const { result, message } = await w.runUntil(async () => outcomeOf(await start(tq)));
    expect(message).toContain('the gap was found open at start: closed it instead of asking for approval with the gap open');
    expect(result.decisions ?? []).toEqual([]);
    expect(result.gap).toBe('closed');
    expect(result.phases.map((p) => p.phase)).toEqual(['PREFLIGHT', 'CLOSE', 'RECORD']);
    expect(l.vaultPortsDown()).toBe(true);
  });

  test('a run may tighten the approval rule but not loosen it', async () => {
    await lab({ when: 'suspect', approvers: ['alice'] });
    const tq = `decide-override-${seq}`;
    const w = await worker(tq);
    await w.runUntil(async () => {
      for (const [approval, field] of [
        [{ when: 'never' }, 'policy.approval.when: "never" asks less often'],
        [{ approvers: ['mallory'] }, 'policy.approval.approvers: approvers come from the vault configuration only'],
        [{ onTimeout: 'approve' }, 'policy.approval.onTimeout'],
      ] as const) {
        const { result, message } = await outcomeOf(await start(tq, { approval }));
        expect(message).toContain(field);
        expect(result.phases.map((p) => p.phase)).not.toContain('OPEN');
      }
    });
  });
});

function countFiles(dir: string): number {
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) n += e.isDirectory() ? countFiles(join(dir, e.name)) : 1;
  return n;
}
