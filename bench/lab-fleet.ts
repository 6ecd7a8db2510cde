/**
 * Many lab vaults in a process of their own, for the many-vaults benchmark: a real vault's devices are other
 * machines, so their simulators must not share the worker's event loop (which would count the lab's work as our
 * orchestration overhead). Prints one JSON line `{ "endpoints": [...] }` once every lab listens; stops when its
 * stdin closes (the benchmark ending, or dying).
 *
 *   tsx bench/lab-fleet.ts '{"dir": "/tmp/x", "count": 20, "mib": 10, "bandwidth": 33554432}'
 */
import { join } from 'node:path';
import { startLab, type Lab } from '../lab';
import { startProfiler } from './profile';

async function main(): Promise<void> {
  const o = JSON.parse(process.argv[2] ?? '{}') as { dir: string; count: number; mib: number; files?: number; bandwidth: number; profile?: string };
  const labs: Lab[] = [];
  let stopProfile = async () => {};
  let closing = false;
  const close = async () => {
    if (closing) return; // stdin's 'end' and 'close' both come
    closing = true;
    await stopProfile().catch((err: Error) => console.error(`lab fleet: no CPU profile: ${err.message}`));
    for (const l of labs) await l.close().catch(() => undefined);
    process.exit(0);
  };
  process.stdin.on('end', () => void close());
  process.stdin.on('close', () => void close());
  process.stdin.resume();
  for (let i = 0; i < o.count; i++) {
    labs.push(
      await startLab({
        dir: join(o.dir, `lab-${i}`),
        ports: { switch: 0, sourceDd: 0, vaultDd: 0, control: 0 },
        switches: ['cisco-ios'],
        seed: { files: o.files ?? 60, totalBytes: o.mib * 1024 * 1024 },
        bandwidthBytesPerSec: o.bandwidth,
        control: false,
      }),
    );
  }
  if (o.profile) {
    // Profile what the labs do while the vaults cycle (not their seeding): written when the benchmark ends.
    const profiler = await startProfiler();
    stopProfile = () => profiler.stop(o.profile!);
  }
  process.stdout.write(`${JSON.stringify({ endpoints: labs.map((l) => l.endpoints), pid: process.pid })}\n`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
