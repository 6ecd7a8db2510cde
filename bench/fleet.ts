/**
 * `npm run bench:fleet`: 100 vaults on the production stack with two worker processes, and on the dev server for
 * comparison. Each vault cycles on its own schedule with jitter; some drill and some scrub on schedules of their
 * own, overlapping the cycles. Reports exposure overhead (p50/p95/max, the lab's link-up apart), cycles per
 * minute, schedule-to-start latency, CPU and memory of every process, history events per run, into
 * bench/FLEET-REPORT.md and .json.
 *
 *   npm run bench:fleet [-- --target stack,dev] [--vaults 100] [--minutes 8] [--every 4m] [--jitter 3m]
 *                       [--drills 10] [--scrubs 10] [--profile]
 * The stack runs moved (IR_STACK_PORT_OFFSET, default 2000; IR_STACK_DIR, default .stack-soak): no stack lock.
 * --profile writes CPU profiles of the workers and the lab processes (node --cpu-prof) to bench/out/fleet-profile/.
 */
import { parseArgs } from 'node:util';

process.env.IR_STACK_PORT_OFFSET ??= '2000';
process.env.IR_STACK_DIR ??= '.stack-soak';

const { values } = parseArgs({
  options: {
    target: { type: 'string', default: 'stack,dev' },
    vaults: { type: 'string', default: '100' },
    minutes: { type: 'string', default: '8' },
    every: { type: 'string', default: '4m' },
    jitter: { type: 'string', default: '3m' },
    drills: { type: 'string', default: '10' },
    scrubs: { type: 'string', default: '10' },
    'lab-processes': { type: 'string', default: '4' },
    mib: { type: 'string', default: '4' },
    profile: { type: 'boolean', default: false },
    out: { type: 'string', default: 'bench/FLEET-REPORT' },
  },
});

void import('./fleet-bench').then(({ benchFleet }) => benchFleet(values, process.argv.slice(2))).then(
  (code) => process.exit(code),
  (err: Error) => {
    console.error(err.stack ?? err.message);
    process.exit(1);
  },
);
