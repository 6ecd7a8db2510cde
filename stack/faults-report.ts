/**
 * `npm run stack:faults`: each fault of stack/faults.ts once on the running stack (started first if it is not),
 * written to stack/FAULTS-REPORT.md and .json.
 *   npm run stack:faults [-- --only history-kill,frontend-kill,postgres-stop] [--runs N] [--stop]
 * --runs repeats each fault N times (where the fault lands is timing: the figures vary); --stop stops the stack
 * afterwards.
 */
import { writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { describeFault, faultHeld, FAULT_KINDS, runFault, type FaultFigures, type FaultKind } from './faults';
import { ROOT } from './layout';
import { stack } from './run';

export function faultsMarkdown(faults: FaultFigures[], command: string, at: string): string {
  const n = (x: number | null, d = 1) => (x === null ? '–' : x.toFixed(d));
  return [
    '# Faults on the stack',
    '',
    `Run ${at} on ${cpus().length} cores (load average ${loadavg().map((x) => x.toFixed(2)).join(' ')} at the end), with \`${command}\`.`,
    'Each fault hits while a cycle of `lab-vault` has its gap open (the lab reports its vault ports up); the part is',
    'brought back with `npm run stack` (it starts what died; PostgreSQL after 20 s stopped with `pg_ctl stop -m fast`).',
    '"To close" runs from the fault to the cycle\'s exposure.closedAt (last vault port verified down); "lab" to the',
    'lab\'s own state showing every vault port down (polled every 100 ms).',
    '',
    '| fault | what died | back after (s) | outcome | copy | earlier copies | to close (s) | lab closed (s) | exposure (s) | cycle (s) | irctl status gap |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
    ...faults.map(
      (f) =>
        `| ${f.fault} | ${f.victim}${f.shard ? ` (shard ${f.shard}'s owner)` : ''} | ${n(f.restartSeconds)} | ${f.outcome} | ${f.copyValidated ? `${f.copyId} validated` : (f.copyId ?? 'none')} | ${f.earlierCopiesIntact ? 'intact' : 'MISSING'} | ${n(f.secondsToClose)} | ${n(f.secondsToLabClosed)} | ${n(f.exposureSeconds)} | ${n(f.cycleSeconds)} | ${f.irctlStatusGap} |`,
    ),
    '',
    ...faults.filter((f) => f.note).map((f) => `- ${f.fault} at ${f.injectedAt}: ${f.note}`),
    '',
  ].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const only = argv.includes('--only') ? (argv[argv.indexOf('--only') + 1].split(',') as FaultKind[]) : [...FAULT_KINDS];
  const unknown = only.filter((k) => !FAULT_KINDS.includes(k));
  if (unknown.length) {
    console.error(`unknown fault ${unknown.join(', ')}; known: ${FAULT_KINDS.join(', ')}`);
    return 2;
  }
  const up = await stack();
  if (up.code !== 0) throw new Error(`npm run stack exited ${up.code}: ${up.err}`);
  const runs = argv.includes('--runs') ? Number(argv[argv.indexOf('--runs') + 1]) : 1;
  if (!Number.isInteger(runs) || runs < 1) {
    console.error('--runs N: a whole number of runs per fault, 1 or more');
    return 2;
  }
  const at = new Date().toISOString();
  const faults: FaultFigures[] = [];
  for (const kind of only.flatMap((k) => Array<FaultKind>(runs).fill(k))) {
    console.log(`… ${kind}`);
    const f = await runFault(kind);
    faults.push(f);
    console.log(`${faultHeld(f) ? 'FAIL' : 'ok  '} ${describeFault(f)}${faultHeld(f) ? `\n      ${faultHeld(f)}` : ''}`);
  }
  const command = `npm run stack:faults${argv.length ? ` -- ${argv.join(' ')}` : ''}`;
  writeFileSync(join(ROOT, 'stack/FAULTS-REPORT.json'), JSON.stringify({ at, command, faults }, null, 2) + '\n');
  writeFileSync(join(ROOT, 'stack/FAULTS-REPORT.md'), faultsMarkdown(faults, command, at));
  console.log('wrote stack/FAULTS-REPORT.md and .json');
  if (argv.includes('--stop')) await stack(['--stop']);
  return faults.some((f) => faultHeld(f)) ? 1 : 0;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: Error) => {
      console.error(err.stack ?? err.message);
      process.exit(1);
    },
  );
}
