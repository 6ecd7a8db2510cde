/**
 * irctl as operators and scripts use it: --json output parses for every command, the documented exit
 * codes, bad input named with the fix, and the compiled command (bin/irctl.js, no tsx) on the dev server.
 * Cycles here are a stub on the test's own task queue (test/stubs/cycle-stub.ts): this file is about the
 * client; the real cycle's decisions are tested in the workflow's own tests.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { Worker } from '@temporalio/worker';
import { connectTemporal, describeTemporal, temporalAddress } from './helpers/temporal';
import { irctlWith, tempDir, writeConfig, type IrctlRun } from './helpers/irctl';

jest.setTimeout(180_000);

const exec = promisify(execFile);
const run = Date.now().toString(36);
const V = `cli-${run}`;
const dir = tempDir('ir-irctl-');
const evidence = join(dir, 'evidence');
const config = writeConfig(dir, { [V]: { schedule: { every: '24h', jitter: '10m' }, rpo: '2d' }, [`${V}-idle`]: {} }, evidence);
const tq = `irctl-${run}`;
const irctl = irctlWith({ IR_CONFIG: config, TEMPORAL_ADDRESS: temporalAddress ?? '127.0.0.1:1', IR_TASK_QUEUE: tq });

const expectJson = (r: IrctlRun) => {
  expect(() => r.json()).not.toThrow();
  return r.json();
};

describe('bad input is named with the fix and exits 2; nothing is sent', () => {
  test('unknown vault', async () => {
    const r = await irctl('cycle', 'status', 'no-such-vault');
    expect(r.code).toBe(2);
    expect(r.err).toContain(`unknown vault "no-such-vault": configured vaults are "${V}", "${V}-idle"`);
    expect(r.err).toContain('pass --config FILE');
    const j = await irctl('cycle', 'start', 'no-such-vault', '--json');
    expect(j.code).toBe(2);
    expect(expectJson(j)).toMatchObject({ exitCode: 2, error: expect.stringContaining('unknown vault') });
  });

  test('bad duration in the config names the field and the format', async () => {
    const bad = writeConfig(tempDir('ir-bad-'), { [V]: { schedule: { every: '12 hours' } } });
    const r = await irctlWith({ IR_CONFIG: bad, TEMPORAL_ADDRESS: '127.0.0.1:1' })('schedule', 'apply');
    expect(r.code).toBe(2);
    expect(r.err).toContain('vaults[0].schedule.every: a duration like 90s, 30m, 12h or 7d');
    const both = writeConfig(tempDir('ir-bad-'), { [V]: { schedule: { every: '12h', cron: '0 2 * * *' } } });
    const r2 = await irctlWith({ IR_CONFIG: both, TEMPORAL_ADDRESS: '127.0.0.1:1' })('schedule', 'apply');
    expect(r2.code).toBe(2);
    expect(r2.err).toContain('vaults[0].schedule: give exactly one of every (an interval like 12h) or cron');
  });

  test('bad JSON, unknown options and subcommands, bad numbers', async () => {
    const json = await irctl('cycle', 'start', V, '--policy', '{maxOpenSeconds: 60');
    expect(json.code).toBe(2);
    expect(json.err).toMatch(/--policy is not valid JSON \(.*\); write it like '\{"maxOpenSeconds":1800\}'/);
    const field = await irctl('cycle', 'start', V, '--policy', '{"maxOpen":60}');
    expect(field.err).toContain('policy.maxOpen is not a policy field');
    expect((await irctl('cycle', 'launch', V)).err).toContain("unknown subcommand 'launch'; use one of start, status, list, watch, abort, approve, reject");
    const opt = await irctl('schedule', 'apply', '--force');
    expect(opt.code).toBe(2);
    expect(opt.err).toContain("Unknown option '--force'");
    expect((await irctl('cycle', 'list', '--limit', '0')).err).toContain("--limit must be a positive integer, not '0'");
    // Every schedule kind is listed (cycle, scrub, and those other issues add).
    expect((await irctl('schedule', 'describe', V, '--kind', 'backup')).err).toMatch(/--kind must be one of cycle(, [a-z]+)*, not 'backup'/);
    expect((await irctl('cycle', 'approve', V, '--by', 'alice')).err).toContain('--reason TEXT is required');
    expect((await irctl('frobnicate')).code).toBe(2);
    expect((await irctl('--address')).err).toContain('option --address needs a value');
  });

  test('an unreachable server is exit 3, naming the address and the option', async () => {
    const r = await irctl('--address', '127.0.0.1:1', 'cycle', 'list', '--json');
    expect(r.code).toBe(3);
    expect(r.err).toContain('cannot reach Temporal at 127.0.0.1:1');
    expect(r.err).toContain('TEMPORAL_ADDRESS');
    expect(expectJson(r).exitCode).toBe(3);
  });
});

describeTemporal('irctl on the dev server', () => {
  let temporal: Awaited<ReturnType<typeof connectTemporal>>;
  let worker: Worker;
  let running: Promise<void>;

  beforeAll(async () => {
    temporal = await connectTemporal();
    worker = await Worker.create({ connection: temporal.native, taskQueue: tq, workflowsPath: require.resolve('./stubs/cycle-stub') });
    running = worker.run();
  });
  afterAll(async () => {
    worker?.shutdown();
    await running;
    await temporal.client.schedule.getHandle(`ir-cycle-schedule-${V}`).delete().catch(() => undefined);
    await temporal?.close();
  });

  async function listed(workflowId: string): Promise<any[]> {
    for (let i = 0; i < 100; i++) {
      const r = await irctl('cycle', 'list', '--vault', V, '--json');
      const rows = expectJson(r) as any[];
      if (rows.some((x) => x.workflowId === workflowId)) return rows;
      await new Promise((res) => setTimeout(res, 200));
    }
    throw new Error(`${workflowId} never listed`);
  }

  test('cycle start|status|list|approve|reject|abort|watch: --json parses, exit codes as documented', async () => {
    expect((await irctl('cycle', 'status', `${V}-idle`)).code).toBe(4);
    expect((await irctl('cycle', 'approve', `${V}-idle`, '--reason', 'x', '--by', 'a')).err).toContain(`vault ${V}-idle has no running cycle`);

    const started = await irctl('cycle', 'start', V, '--json');
    expect(started.code).toBe(0);
    expect(expectJson(started)).toMatchObject({ workflowId: `ir-cycle-${V}`, vaultId: V });
    const again = await irctl('cycle', 'start', V);
    expect(again.code).toBe(5);
    expect(again.err).toContain(`a cycle is already running on vault ${V}`);

    let status!: IrctlRun;
    for (let i = 0; i < 100 && (status?.code ?? 1) !== 0; i++) {
      status = await irctl('cycle', 'status', V, '--json');
      if (status.code !== 0) await new Promise((r) => setTimeout(r, 200));
    }
    expect(expectJson(status)).toMatchObject({ workflowId: `ir-cycle-${V}`, execution: 'RUNNING', phase: 'DECIDE', gap: 'closed' });
    const rows = await listed(`ir-cycle-${V}`);
    expect(rows[0]).toMatchObject({ workflowId: `ir-cycle-${V}`, status: 'RUNNING', vaultId: V });

    // The validator's reason reaches the operator; exit 5; nothing changed.
    const refused = await irctl('cycle', 'approve', V, '--by', 'mallory', '--reason', 'looks fine', '--json');
    expect(refused.code).toBe(5);
    expect(refused.err).toContain('approve rejected by ir-cycle-' + V + ': "mallory" is not in approval.approvers');
    expect(expectJson(refused)).toMatchObject({ exitCode: 5, error: expect.stringContaining('mallory') });
    expect(expectJson(await irctl('cycle', 'status', V, '--json')).phase).toBe('DECIDE');
    expect((await irctl('cycle', 'status', V)).out).toContain(`decision (after-validate): PENDING until 2099-01-01T00:00:00Z (then reject): verdict suspect; irctl cycle approve|reject ${V}`);

    const approved = await irctl('cycle', 'approve', V, '--by', 'alice', '--reason', 'known batch job', '--ticket', 'CHG-42', '--json');
    expect(approved.code).toBe(0);
    expect(expectJson(approved)).toMatchObject({ update: 'approve', accepted: true, request: { by: 'alice', reason: 'known batch job', ticket: 'CHG-42' }, result: { message: 'approved by alice' } });
    const watched = await irctl('cycle', 'watch', V, '--json');
    expect(watched.code).toBe(0);
    expect(expectJson(watched)).toMatchObject({ outcome: 'approved', decisions: [{ state: 'approved', by: 'alice', ticket: 'CHG-42' }] });

    // reject: the cycle ends rejected, so watching it exits 1 (not a copy to recover from).
    expect((await irctl('cycle', 'start', V)).code).toBe(0);
    for (let i = 0; i < 100 && (await irctl('cycle', 'status', V)).code !== 0; i++) await new Promise((r) => setTimeout(r, 200));
    const watching = irctl('cycle', 'watch', V);
    await new Promise((r) => setTimeout(r, 2000));
    const rejected = await irctl('cycle', 'reject', V, '--by', 'bob', '--reason', 'encrypted files');
    expect(rejected.code).toBe(0);
    expect(rejected.out).toContain(`reject accepted by ir-cycle-${V}: rejected by bob`);
    const plain = await watching;
    expect(plain.code).toBe(1);
    expect(plain.out).toContain('outcome rejected');
    expect(plain.out).toMatch(/^DECIDE +gap closed/m); // progress as plain lines when stdout is not a terminal
    expect(plain.out).toMatch(/decision \(after-validate\): rejected by bob at \S+: encrypted files/);

    // abort: this cycle has only the abort signal, so irctl falls back to it and says so.
    expect((await irctl('cycle', 'start', V)).code).toBe(0);
    for (let i = 0; i < 100 && (await irctl('cycle', 'status', V)).code !== 0; i++) await new Promise((r) => setTimeout(r, 200));
    const aborted = await irctl('cycle', 'abort', V, '--reason', 'change freeze', '--by', 'carol', '--json');
    expect(aborted.code).toBe(0);
    expect(expectJson(aborted)).toMatchObject({ via: 'signal', abort: { by: 'carol', reason: 'change freeze' } });
    const end = await irctl('cycle', 'watch', V, '--json');
    expect(expectJson(end)).toMatchObject({ outcome: 'aborted', abort: { by: 'carol' } });
    expect(end.code).toBe(1);
    const last = await irctl('status', V); // the old spelling still works
    expect(last.code).toBe(0);
    expect(last.out).toContain('abort: by carol');
  });

  test('schedule apply|list|describe|pause|resume|trigger|delete and report show: --json parses', async () => {
    const applied = expectJson(await irctl('schedule', 'apply', '--json'));
    expect(applied.changes).toEqual(expect.arrayContaining([{ action: 'create', scheduleId: `ir-cycle-schedule-${V}`, kind: 'cycle', vaultId: V }]));
    expect(applied.rpo[0]).toMatchObject({ vaultId: V, ok: true });
    const listedSchedules = async () => {
      for (let i = 0; i < 100; i++) {
        const rows = expectJson(await irctl('schedule', 'list', '--json')) as any[];
        if (rows.some((r) => r.vaultId === V)) return rows;
        await new Promise((r) => setTimeout(r, 200));
      }
      throw new Error('never listed');
    };
    expect((await listedSchedules()).find((r) => r.vaultId === V)).toMatchObject({ scheduleId: `ir-cycle-schedule-${V}`, paused: false });
    expect(expectJson(await irctl('schedule', 'describe', V, '--json'))).toMatchObject({ paused: false, spec: { every: 86400, jitter: 600, overlap: 'SKIP' } });
    expect(expectJson(await irctl('schedule', 'pause', V, '--reason', 'freeze', '--json'))).toMatchObject({ paused: true });
    expect(expectJson(await irctl('schedule', 'resume', V, '--json'))).toMatchObject({ paused: false });
    const trig = await irctl('schedule', 'trigger', V, '--json');
    expect(expectJson(trig)).toMatchObject({ outcome: 'started' });
    const wf = temporal.client.workflow.getHandle(trig.json().workflowId);
    for (let i = 0; i < 100 && !(await wf.query('status').then(() => true, () => false)); i++) await new Promise((r) => setTimeout(r, 200));
    await wf.signal('abort', { by: 'test', reason: 'done' });
    await wf.result();
    expect(expectJson(await irctl('schedule', 'delete', V, '--json'))).toMatchObject({ deleted: true });
    expect((await irctl('schedule', 'describe', V, '--json')).code).toBe(4);

    expect((await irctl('report', 'show', V)).code).toBe(4);
    const copyDir = join(evidence, V, 'c1');
    mkdirSync(copyDir, { recursive: true });
    writeFileSync(join(copyDir, 'report.json'), JSON.stringify({ format: 'ir-report/1', vaultId: V, copyId: 'c1', outcome: 'validated' }));
    writeFileSync(join(copyDir, 'report.md'), '# Isolated recovery cycle c1\n');
    writeFileSync(join(evidence, V, 'catalog.json'), JSON.stringify([{ copyId: 'c1', recordedAt: new Date().toISOString(), outcome: 'validated', verdict: 'clean', report: join(copyDir, 'report.json') }]));
    expect(expectJson(await irctl('report', 'show', V, '--json'))).toMatchObject({ copyId: 'c1', outcome: 'validated' });
    expect((await irctl('report', 'show', V)).out).toBe('# Isolated recovery cycle c1');
    expect((await irctl('report', 'show', V, 'nope')).code).toBe(4);

    const tree = join(dir, 'tree');
    mkdirSync(tree, { recursive: true });
    writeFileSync(join(tree, 'a.txt'), 'a');
    expect(expectJson(await irctl('manifest', tree, '-o', join(dir, 'SUMS'), '--json'))).toMatchObject({ files: 1 });
    expect(expectJson(await irctl('verify', tree, join(dir, 'SUMS'), '--json'))).toMatchObject({ ok: true });
  });

  test('the compiled command (bin/irctl.js) runs without tsx: help, JSON and exit codes', async () => {
    const bin = resolve(__dirname, '../bin/irctl.js');
    const env = { ...process.env, IR_CONFIG: config, TEMPORAL_ADDRESS: temporalAddress };
    const help = await exec(process.execPath, [bin, '--help'], { env });
    expect(help.stdout).toContain('schedule');
    expect(help.stdout).toContain('exit codes: 0 ok');
    const list = await exec(process.execPath, [bin, 'cycle', 'list', '--vault', V, '--json'], { env });
    expect(Array.isArray(JSON.parse(list.stdout))).toBe(true);
    const bad = await exec(process.execPath, [bin, 'cycle', 'status', 'nope'], { env }).catch((e) => e);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('unknown vault "nope"');
    // What ran is the build's plain JavaScript, rebuilt from the current sources.
    const built = resolve(__dirname, '../dist/clients/irctl.js');
    expect(statSync(built).mtimeMs).toBeGreaterThanOrEqual(statSync(resolve(__dirname, '../clients/irctl.ts')).mtimeMs);
  });
});
