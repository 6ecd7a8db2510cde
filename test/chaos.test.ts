/**
 * The fast subset of the chaos suite (the whole suite: `npm run chaos`, table in test/chaos/REPORT.md): a worker
 * SIGKILLed while it brings the ports up, with an abort sent at once. Its own dev server, the lab, two worker
 * processes. The gap is judged by the lab; earlier locked copies are hashed before and after.
 */
import { runChaos } from './chaos/run';
import { describeTemporal } from './helpers/temporal';

jest.setTimeout(300_000);

describeTemporal('chaos (fast subset)', () => {
  test('worker killed during OPEN, abort at once: aborted, gap closed within seconds, nothing in the vault changed', async () => {
    const lines: string[] = [];
    const [run] = await runChaos({ runs: 1, only: ['worker-kill+abort-open'], log: (l) => lines.push(l) });
    expect(run).toMatchObject({ outcome: 'aborted', gapClosed: true, vaultFilesChanged: 0, reportConsistent: true });
    // The interrupted openLink is retried (or cancelled) within a missed heartbeat, not the 30 s it used to take.
    expect(run.stallSeconds).toBeLessThan(20);
    expect(run.timeToCloseSeconds).toBeLessThan(30);
  });
});
