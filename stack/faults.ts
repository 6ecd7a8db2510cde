/**
 * Faults on the real cluster (issue 17, item 5): while a cycle has the lab vault's gap open, one part of the
 * stack dies — a history node (the one owning the cycle's shard), the frontend, or PostgreSQL (stopped for 20 s) —
 * and is brought back the way an operator does, `npm run stack` (it starts what died). Each run records whether
 * the cycle still closed the gap (the lab's ports verified down, irctl status), what became of its copy and of
 * the copies before it, and how long the gap stayed open after the fault.
 */
import { existsSync, readdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { WorkflowFailedError } from '@temporalio/client';
import { cycleWorkflowId, type CycleResult } from '../workflows/cycle-messages';
import { LAB_CONTROL_PORT } from './apps';
import { connectStack } from './client';
import { dirs, HOST, pidFile, ports } from './layout';
import { pgBinDir } from './postgres';
import { runningPid } from './processes';
import { assert, irctl, run, sleep, stack } from './run';
import { TEMPORAL_PROCESSES } from './temporal-server';

export const FAULT_KINDS = ['history-kill', 'frontend-kill', 'postgres-stop'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

const VAULT = 'lab-vault';
const PG_STOP_SECONDS = 20;
const LAB = `http://${HOST}:${LAB_CONTROL_PORT}`;

export interface FaultFigures {
  fault: FaultKind;
  victim: string; // the process that died
  victimPid: number;
  shard?: number; // history-kill: the cycle's shard, and which node owned it
  labPhaseAtFault: string;
  injectedAt: string;
  restartSeconds: number; // `npm run stack` bringing it back (postgres: after its 20 s down)
  outcome: string;
  gap: string; // the cycle's own gap state at the end
  copyId: string | null;
  copyValidated: boolean;
  earlierCopiesIntact: boolean; // every copy there before the fault still there
  /** From the fault to the last vault port verified down (the cycle's exposure.closedAt). */
  secondsToClose: number | null;
  /** From the fault to the lab's own state showing every vault port down again (polled every 100 ms). */
  secondsToLabClosed: number | null;
  exposureSeconds: number | null;
  cycleSeconds: number; // the cycle's start to its result
  irctlStatusGap: string;
  note: string;
}

interface LabState {
  phase: string;
  vaultPortsDown: boolean;
}

const labState = async (): Promise<LabState> => (await (await fetch(`${LAB}/state`)).json()) as LabState;

async function waitLab(ok: (s: LabState) => boolean, timeoutMs: number, what: string): Promise<{ at: number; state: LabState }> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const state = await labState().catch(() => undefined);
    if (state && ok(state)) return { at: Date.now(), state };
    await sleep(100);
  }
  throw new Error(`the lab did not reach ${what} within ${timeoutMs / 1000} s`);
}

const copiesDir = () => `${dirs.lab}/vault-dd/data/col1/ir-copies`;
const copies = () => (existsSync(copiesDir()) ? readdirSync(copiesDir()) : []);

function pidOf(name: string): number {
  const pid = runningPid(name);
  assert(pid, `${name} is not running (${pidFile(name)})`);
  return pid;
}

async function psql(sql: string): Promise<string> {
  const r = await run('psql', ['-h', dirs.pgSocket, '-p', String(ports.postgres), '-U', 'postgres', '-d', 'temporal', '-tAc', sql], { timeoutMs: 30000 });
  assert(r.code === 0, `psql: ${sql}: ${r.err}`);
  return r.out.trim();
}

/** The history process owning the run's shard: executions.shard_id, then the owner (host:grpc port) in shards.data. */
export async function shardOwner(workflowId: string, runId: string): Promise<{ shard: number; process: string }> {
  const shard = Number(await psql(`SELECT shard_id FROM executions WHERE workflow_id = '${workflowId}' AND run_id = decode('${runId.replace(/-/g, '')}', 'hex')`));
  assert(shard > 0, `no executions row for ${workflowId} ${runId}`);
  const data = Buffer.from(await psql(`SELECT encode(data, 'hex') FROM shards WHERE shard_id = ${shard}`), 'hex').toString('latin1');
  const port = Number(/127\.0\.0\.1:(\d+)/.exec(data)?.[1]);
  const owner = TEMPORAL_PROCESSES.find((p) => p.service === 'history' && p.ports.grpc === port);
  assert(owner, `shard ${shard}'s owner (port ${port}) is not one of the stack's history nodes`);
  return { shard, process: owner.name };
}

function pgCtl(action: 'stop'): void {
  const args = ['-u', 'postgres', '--', `${pgBinDir()}/pg_ctl`, action, '-D', dirs.pg, '-m', 'fast', '-w'];
  const r = process.getuid?.() === 0 ? spawnSync('runuser', args, { encoding: 'utf8' }) : spawnSync(args[3], args.slice(4), { encoding: 'utf8' });
  assert(r.status === 0, `pg_ctl ${action}: ${r.stderr || r.stdout}`);
}

/** Injects the fault; resolves once the stack is whole again (`npm run stack` exit 0), with what died. */
async function inject(kind: FaultKind, workflowId: string, runId: string): Promise<{ victim: string; victimPid: number; shard?: number; restartSeconds: number }> {
  let victim: string;
  let shard: number | undefined;
  if (kind === 'history-kill') ({ process: victim, shard } = await shardOwner(workflowId, runId));
  else victim = kind === 'frontend-kill' ? 'temporal-frontend' : 'postgres';
  const victimPid = pidOf(victim);
  if (kind === 'postgres-stop') {
    pgCtl('stop');
    await sleep(PG_STOP_SECONDS * 1000);
  } else process.kill(victimPid, 'SIGKILL');
  const r = await stack();
  assert(r.code === 0, `npm run stack after the ${kind} exited ${r.code}: ${(r.out + r.err).trim().split('\n').slice(-8).join('\n')}`);
  return { victim, victimPid, shard, restartSeconds: r.ms / 1000 };
}

/** The cycle's result, waiting through the outage (the client's calls fail while the frontend or database is down). */
async function resultThroughOutage(workflowId: string, runId: string, timeoutMs: number): Promise<CycleResult | { failed: string }> {
  const deadline = Date.now() + timeoutMs;
  let lastError = '';
  while (Date.now() < deadline) {
    const s = await connectStack().catch((e: Error) => ((lastError = e.message), undefined));
    if (s) {
      try {
        return (await s.client.workflow.getHandle(workflowId, runId).result()) as CycleResult;
      } catch (err) {
        if (err instanceof WorkflowFailedError) return { failed: `${err.message}: ${err.cause?.message ?? ''}` };
        lastError = (err as Error).message;
      } finally {
        await s.close().catch(() => undefined);
      }
    }
    await sleep(1000);
  }
  throw new Error(`no result of ${workflowId} ${runId} within ${timeoutMs / 1000} s: ${lastError}`);
}

/** One fault during one cycle, end to end. */
export async function runFault(kind: FaultKind): Promise<FaultFigures> {
  const before = copies();
  const workflowId = cycleWorkflowId(VAULT);
  await waitLab((s) => s.vaultPortsDown, 10000, 'every vault port down (before the cycle)');
  const t0 = Date.now();
  const started = await irctl(['--config', 'config/stack.yaml', 'start', VAULT], 60000);
  assert(started.code === 0, `irctl start ${VAULT}: exit ${started.code}: ${started.err || started.out}`);
  const s = await connectStack();
  const runId = (await s.client.workflow.getHandle(workflowId).describe()).runId;
  await s.close();
  const open = await waitLab((st) => st.phase === 'open', 60000, 'the gap open');
  const injectedAt = Date.now();
  // Watch the lab from the fault on: when does every vault port read down again?
  let labClosedAt: number | null = null;
  const watching = waitLab((st) => st.vaultPortsDown, 600000, 'every vault port down').then((r) => (labClosedAt = r.at), () => undefined);
  const injected = await inject(kind, workflowId, runId);
  const result = await resultThroughOutage(workflowId, runId, 600000);
  const cycleSeconds = (Date.now() - t0) / 1000;
  await Promise.race([watching, sleep(30000)]);
  // irctl status: what an operator reads afterwards (the run's own record, also when the workflow failed).
  const status = await irctl(['--config', 'config/stack.yaml', '--json', 'status', VAULT], 60000);
  assert(status.code === 0, `irctl status ${VAULT}: exit ${status.code}: ${status.err.trim()}`);
  const st = JSON.parse(status.out) as { gap: string; copyId: string; outcome?: string; exposure: CycleResult['exposure'] };
  const after = copies();
  const ok = 'outcome' in result;
  const closedAt = st.exposure.closedAt ? Date.parse(st.exposure.closedAt) : null;
  return {
    fault: kind,
    ...injected,
    labPhaseAtFault: open.state.phase,
    injectedAt: new Date(injectedAt).toISOString(),
    outcome: ok ? result.outcome : (st.outcome ?? 'failed'),
    gap: st.gap,
    copyId: st.copyId ?? null,
    copyValidated: ok && result.outcome === 'validated' && result.validation?.equal === true,
    earlierCopiesIntact: before.every((c) => after.includes(c)),
    secondsToClose: closedAt === null ? null : (closedAt - injectedAt) / 1000,
    secondsToLabClosed: labClosedAt === null ? null : (labClosedAt - injectedAt) / 1000,
    exposureSeconds: st.exposure.seconds ?? null,
    cycleSeconds,
    irctlStatusGap: st.gap,
    note: ok ? (result.findings?.length ? `findings: ${result.findings.map((f) => `${f.class} ${f.detail ?? ''}`.trim()).join('; ')}` : '') : result.failed,
  };
}

/** What must hold after every fault: the gap verified closed, the copy validated (or, if none, the earlier ones there). */
export function faultHeld(f: FaultFigures): string | undefined {
  if (f.secondsToLabClosed === null) return `${f.fault}: the lab's vault ports never read down again`;
  if (f.irctlStatusGap !== 'closed') return `${f.fault}: irctl status says gap ${f.irctlStatusGap}`;
  if (!f.earlierCopiesIntact) return `${f.fault}: a copy made before the fault is gone`;
  if (!f.copyValidated && f.outcome === 'validated') return `${f.fault}: outcome validated but the copy did not compare equal`;
  if (f.outcome !== 'validated' && !f.note) return `${f.fault}: outcome ${f.outcome} and the report does not say why`;
  return undefined;
}

export const describeFault = (f: FaultFigures) =>
  `${f.victim} (pid ${f.victimPid}${f.shard ? `, owner of shard ${f.shard}` : ''}) ${f.fault === 'postgres-stop' ? `stopped ${PG_STOP_SECONDS} s` : 'SIGKILLed'} with the gap ${f.labPhaseAtFault}; back in ${f.restartSeconds.toFixed(1)} s; outcome ${f.outcome}${f.copyValidated ? ' (copy validated)' : ''}, gap closed ${f.secondsToClose?.toFixed(1) ?? '–'} s after the fault (lab: ${f.secondsToLabClosed?.toFixed(1) ?? '–'} s), exposure ${f.exposureSeconds?.toFixed(1) ?? '–'} s, irctl status gap ${f.irctlStatusGap}`;
