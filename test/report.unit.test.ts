/** The Markdown report says what a person needs to know about a cycle's start: a gap it found open. */
import { renderMarkdown } from '../activities/report';
import type { CycleResult } from '../workflows/messages';

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
