/**
 * `npm run soak -- --minutes 60`: the fleet (bench/fleet-env.ts: 100 vaults on the moved stack, two workers,
 * schedules with jitter, drills and scrubs) runs while a seeded random schedule of faults hits it — a worker
 * SIGKILLed (restarted 5 s later), a history process SIGKILLed (`npm run stack` brings it back), the lab of one
 * vault SIGKILLed (it has a process of its own; restarted 5 s later on the same ports and folders), PostgreSQL
 * paused (SIGSTOP for 20 s, then SIGCONT). A monitor reads every lab's ports every second. Bounded: the faults
 * stop at the end of `minutes`, the schedules are deleted, runs get 4 minutes to finish, and a hard deadline
 * (minutes + 20) ends everything. Writes test/chaos/SOAK-REPORT.md and .json.
 *
 *   npm run soak [-- --minutes 60] [--seed 19] [--vaults 100] [--every 12m] [--jitter 10m] [--drills 10] [--scrubs 10]
 */
import { parseArgs } from 'node:util';

process.env.IR_STACK_PORT_OFFSET ??= '2000';
process.env.IR_STACK_DIR ??= '.stack-soak';

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '60' },
    seed: { type: 'string', default: '19' },
    vaults: { type: 'string', default: '100' },
    every: { type: 'string', default: '12m' },
    jitter: { type: 'string', default: '10m' },
    drills: { type: 'string', default: '10' },
    scrubs: { type: 'string', default: '10' },
    'lab-processes': { type: 'string', default: '4' },
    mib: { type: 'string', default: '4' },
    out: { type: 'string', default: 'test/chaos/SOAK-REPORT' },
  },
});

void import('./soak-run').then(({ soak }) => soak(values, process.argv.slice(2))).then(
  (code) => process.exit(code),
  (err: Error) => {
    console.error(err.stack ?? err.message);
    process.exit(1);
  },
);
