/** The cycle's phases (status, IrPhase, the lab's faults aimed at a phase): one list, the type derives from it. */
export const PHASES = ['PREFLIGHT', 'OPEN', 'REPLICATE', 'CONVERGE', 'LOCK', 'VALIDATE', 'CLOSE', 'DECIDE', 'RECORD', 'DONE'] as const;
export type Phase = (typeof PHASES)[number];
