/** The Markdown report says what a person needs to know about a cycle's start: a gap it found open. */
import { renderMarkdown } from '../activities/report';
import type { CycleResult } from '../workflows/cycle-messages';

const base: CycleResult = {
  vaultId: 'lab-vault',
  copyId: '20261123T000000Z-abcdef12',
  phase: 'DONE',
  gap: 'closed',
  startedAt: '2026-11-23T00:00:00.000Z',
  phases: [],
  exposure: { seconds: 2.5 },
  verdict: 'clean',
  findings: [],
  rejectedMessages: [],
  outcome: 'validated',
};

test('a gap found open at PREFLIGHT is in the report: what, since when at the latest, who closed it', () => {
  const md = renderMarkdown({
    ...base,
    inheritedGap: { found: 'ports up: GigabitEthernet1/0/2 | admin up', openSinceAtLatest: '2026-11-22T23:59:00.000Z', closedBy: "this cycle's close path (ir-cycle-lab-vault)" },
  });
  expect(md).toContain('| gap found open at start | ports up: GigabitEthernet1/0/2 \\| admin up; open since 2026-11-22T23:59:00.000Z at the latest; closed by this cycle\'s close path (ir-cycle-lab-vault) |');
  expect(renderMarkdown(base)).not.toContain('gap found open at start');
});

test('a step that a retry resumed after a lost worker says so, with how much it did not redo', () => {
  const manifest = { path: '/e/copy.sha256sums', digest: 'd', root: 'ab'.repeat(32), algorithm: 'sha256', files: 40, bytes: 320, seconds: 6 };
  const md = renderMarkdown({
    ...base,
    copy: {
      copyId: base.copyId, mtreePath: `/data/col1/ir-copies/${base.copyId}`, files: 40, bytes: 320, lockedUntil: '2026-11-23T00:05:00.000Z', lockMode: 'governance',
      resumed: { attempt: 2, fastcopySkipped: true, untilKept: true, fromCheckpoint: 10, alreadyLocked: 3 },
    },
    validation: {
      verdict: 'clean', equal: true, counts: {}, reasons: [], scores: {} as never, detailPath: '/e/validation.json',
      source: { ...manifest, side: 'source' },
      copy: { ...manifest, side: 'copy', resumed: { attempt: 3, files: 12, bytes: 96, hashedFiles: 28 } },
    },
  });
  expect(md).toContain('| lock resumed | attempt 2 continued after a lost worker: fastcopy already landed, not repeated; 10 files settled before (from the checkpoint) and 3 found locked to the same time, not redone; lock time kept from the first attempt |');
  expect(md).toContain('(40 files, root abababababababab…); attempt 3 resumed after a lost worker: 12 files (96 bytes) from the checkpoint, 28 hashed by this attempt');
  expect(md.match(/resumed after a lost worker/g)).toHaveLength(1); // the source side was not resumed
  expect(renderMarkdown(base)).not.toContain('resumed');
});
