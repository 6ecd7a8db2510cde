/**
 * DECIDE: the cycle asks people to approve or reject a copy (after VALIDATE, or before the gap opens with
 * `approval.beforeOpen`) and waits, bounded by a timeout whose default is said in the report. Operators answer
 * with `approve`, `reject` or `abort`, as updates (a synchronous validator tells the caller why a request was
 * refused, and a refused request changes nothing) or as signals of the same names (a refused signal is named
 * in `status.rejectedMessages` and the worker log). Invariant 4: the after-validate wait starts only once the
 * close path has verified the gap closed.
 */
import { ApplicationFailure, condition, log, setHandler, upsertSearchAttributes } from '@temporalio/workflow';
import { IrDecision, type CyclePolicy, type CycleStatus, type Outcome, type Phase, type Verdict } from './cycle-messages';
import { abortSignal, abortUpdate, approveSignal, approveUpdate, messageDescriptions, parseAbortRequest, parseDecisionRequest, rejectSignal, rejectUpdate, type Decision, type DecisionReply, type DecisionRequest, type DecisionStage } from './operator-messages';

/** Phases in which `abort` still takes the close path (the gap may be open or about to be). */
const ABORTABLE: Phase[] = ['PREFLIGHT', 'OPEN', 'REPLICATE', 'CONVERGE', 'LOCK', 'VALIDATE'];

const fmtDuration = (s: number) => (s % 3600 === 0 ? `${s / 3600}h` : s % 60 === 0 ? `${s / 60}m` : `${s}s`);

/** Why this cycle must ask after VALIDATE, or undefined when it need not (policy `approval.when`). */
export function decisionNeeded(policy: CyclePolicy | undefined, verdict: Verdict): string | undefined {
  const when = policy?.approval?.when;
  if (when === 'always' && (verdict === 'clean' || verdict === 'suspect')) return `every copy is approved by a person (approval.when: always); verdict ${verdict}`;
  if (when === 'suspect' && verdict === 'suspect') return 'the verdict is suspect (approval.when: suspect)';
  return undefined;
}

/** The outcome a decision gives the cycle, or undefined when no decision was taken. */
export function decisionOutcome(status: CycleStatus): Outcome | undefined {
  const d = status.decisions?.at(-1);
  if (!d) return undefined;
  if (d.state === 'rejected') return 'rejected';
  if (d.state === 'aborted') return 'aborted';
  if (d.state === 'approved' && d.stage === 'after-validate') return status.verdict === 'clean' ? 'validated' : 'approved';
  return undefined;
}

export interface OperatorHooks {
  /** Cancels the cycle's main scope: the close path runs. */
  abortRunning(): void;
}

/**
 * Registers approve/reject/abort (updates and signals) at workflow start, so the UI lists them and a request
 * that arrives before any question is answered "nothing awaits a decision" rather than "unknown update".
 */
export class OperatorDesk {
  private pending?: Decision;
  private policy?: CyclePolicy;

  constructor(
    private readonly status: CycleStatus,
    private readonly hooks: OperatorHooks,
  ) {
    const fail = (message: string): never => {
      const refused = ApplicationFailure.create({ type: 'RequestRefused', message, nonRetryable: true });
      refused.stack = ''; // the caller (CLI, UI dialog) needs the reason, not the workflow's stack
      throw refused;
    };
    for (const [name, update, signal] of [
      ['approve', approveUpdate, approveSignal],
      ['reject', rejectUpdate, rejectSignal],
    ] as const) {
      setHandler(update, (req) => this.decide(name, req as DecisionRequest), {
        validator: (req) => {
          const refused = this.checkDecision(name, req);
          if (refused) fail(refused);
        },
        description: messageDescriptions[name],
      });
      setHandler(
        signal,
        (req) => {
          const refused = this.checkDecision(name, req);
          if (refused) this.refuse(name, refused);
          else this.decide(name, req as DecisionRequest);
        },
        { description: messageDescriptions[name] },
      );
    }
    setHandler(abortUpdate, (req?: unknown) => this.abort(req), {
      validator: (req?: unknown) => {
        const refused = this.checkAbort(req);
        if (refused) fail(refused);
      },
      description: messageDescriptions.abort,
    });
    setHandler(
      abortSignal,
      (req?: unknown) => {
        const refused = this.checkAbort(req);
        if (refused) this.refuse('abort', refused);
        else this.abort(req);
      },
      { description: messageDescriptions.abort },
    );
  }

  /** The run's policy, known after PREFLIGHT. */
  setPolicy(policy: CyclePolicy): void {
    this.policy = policy;
  }

  /**
   * Asks and waits. Resolves with the decision (approved, rejected, aborted after VALIDATE, or the timeout's
   * default); throws if the wait is cancelled (workflow cancel, or abort before the gap opened).
   */
  async ask(stage: DecisionStage, why: string): Promise<Decision> {
    const approval = this.policy?.approval;
    if (!approval) throw ApplicationFailure.nonRetryable('no approval policy: PREFLIGHT did not run', 'ConfigError');
    // Invariant 4: nobody waits with the gap open. Before the gap opens, or after the close path verified it.
    if (this.status.gap !== 'closed') {
      throw ApplicationFailure.nonRetryable(`refusing to wait for a decision with the gap ${this.status.gap}`, 'SafetyError');
    }
    const timeoutSeconds = stage === 'before-open' ? approval.beforeOpenTimeout : approval.timeout;
    const askedAt = new Date();
    const d: Decision = {
      stage,
      why,
      askedAt: askedAt.toISOString(),
      deadline: new Date(askedAt.getTime() + timeoutSeconds * 1000).toISOString(),
      timeoutSeconds,
      onTimeout: stage === 'before-open' ? 'reject' : approval.onTimeout, // before open, silence never opens the gap
      quorum: approval.quorum,
      ...(approval.approvers ? { approvers: approval.approvers } : {}),
      approvals: [],
      state: 'pending',
    };
    (this.status.decisions ??= []).push(d);
    this.pending = d;
    upsertSearchAttributes([{ key: IrDecision, value: 'pending' }]);
    log.info('waiting for a decision', { stage, why, deadline: d.deadline, quorum: d.quorum });
    try {
      const answered = await condition(() => d.state !== 'pending', timeoutSeconds * 1000);
      if (!answered) {
        d.state = d.onTimeout === 'approve' ? 'approved' : 'rejected';
        d.timedOut = true;
        d.by = 'timeout';
        d.decidedAt = new Date().toISOString();
        d.reason =
          `no decision within ${fmtDuration(timeoutSeconds)}: ${d.onTimeout === 'approve' ? 'approved' : 'rejected'} by default` +
          (stage === 'before-open' ? ' (before open, a timeout never opens the gap)' : ` (approval.onTimeout: ${d.onTimeout})`);
        log.warn('decision timed out', { stage, outcome: d.state });
      }
    } finally {
      if (d.state === 'pending') {
        d.state = 'cancelled';
        d.decidedAt = new Date().toISOString();
      }
      this.pending = undefined;
      upsertSearchAttributes([{ key: IrDecision, value: d.state }]);
    }
    return d;
  }

  /** Why an approve/reject cannot be taken now, or undefined. Changes nothing. */
  private checkDecision(name: 'approve' | 'reject', input: unknown): string | undefined {
    const parsed = parseDecisionRequest(name, input);
    if (!parsed.ok) return parsed.error;
    const req = parsed.value;
    const d = this.pending;
    if (!d) {
      const last = this.status.decisions?.at(-1);
      if (last && last.state !== 'pending') {
        return `too late: the decision was already taken (${last.state}${last.by ? ` by ${last.by}` : ''} at ${last.decidedAt})`;
      }
      return `nothing awaits a decision: the cycle is in ${this.status.phase}${this.policy?.approval ? ` (approval.when: ${this.policy.approval.when}; a decision is asked after VALIDATE with the gap closed)` : ''}`;
    }
    if (Date.now() >= Date.parse(d.deadline)) return `too late: the decision deadline ${d.deadline} has passed (${d.onTimeout} by default)`;
    if (d.approvers && !d.approvers.includes(req.by)) {
      return `${req.by} is not an approver of vault ${this.status.vaultId} (approval.approvers: ${d.approvers.join(', ')})`;
    }
    if (name === 'approve' && d.approvals.some((a) => a.by === req.by)) {
      return `${req.by} has already approved: approval.quorum ${d.quorum} needs ${d.quorum - d.approvals.length} more approval(s) from another person`;
    }
    return undefined;
  }

  private decide(name: 'approve' | 'reject', req: DecisionRequest): DecisionReply {
    const d = this.pending!;
    const at = new Date().toISOString();
    const phase = this.status.phase;
    if (name === 'reject') {
      Object.assign(d, { state: 'rejected', by: req.by, reason: req.reason, decidedAt: at }, req.ticket ? { ticket: req.ticket } : {});
      log.warn('copy rejected', { by: req.by, reason: req.reason, stage: d.stage });
      return { message: `rejected by ${req.by}: ${d.stage === 'before-open' ? 'the cycle ends without opening the gap' : 'the copy stays locked and is marked rejected'}`, phase, decision: d };
    }
    d.approvals.push({ ...req, at });
    if (d.approvals.length < d.quorum) {
      log.info('approval recorded', { by: req.by, of: d.quorum });
      return { message: `approval ${d.approvals.length} of ${d.quorum} recorded from ${req.by}; waiting for another approver`, phase, decision: d };
    }
    const tickets = d.approvals.map((a) => a.ticket).filter(Boolean);
    Object.assign(
      d,
      { state: 'approved', by: d.approvals.map((a) => a.by).join(', '), reason: d.approvals.map((a) => a.reason).join('; '), decidedAt: at },
      tickets.length ? { ticket: tickets.join(', ') } : {},
    );
    log.info('approved', { by: d.by, stage: d.stage });
    return { message: `approved by ${d.by}: ${d.stage === 'before-open' ? 'the cycle opens the gap' : 'the copy counts as good'}`, phase, decision: d };
  }

  /** Why an abort cannot be taken now, or undefined. Changes nothing. */
  private checkAbort(input: unknown): string | undefined {
    const parsed = parseAbortRequest(input);
    if (!parsed.ok) return parsed.error;
    if (this.status.abort) return `already aborted by ${this.status.abort.by} at ${this.status.abort.at}`;
    if (this.pending || ABORTABLE.includes(this.status.phase)) return undefined;
    return `abort from ${parsed.value.by} arrived in ${this.status.phase}: too late, the gap is already being closed or is closed`;
  }

  private abort(input: unknown): DecisionReply {
    const req = parseAbortRequest(input);
    if (!req.ok) throw ApplicationFailure.nonRetryable(req.error); // checked before: unreachable
    const phase = this.status.phase;
    this.status.abort = { ...req.value, at: new Date().toISOString() };
    log.warn('abort requested', { by: req.value.by, reason: req.value.reason, phase });
    const d = this.pending;
    if (d) Object.assign(d, { state: 'aborted', by: req.value.by, reason: req.value.reason, decidedAt: this.status.abort.at });
    if (d?.stage === 'after-validate') {
      // The gap is closed already: the wait ends and the cycle records, with no decision on the copy.
      this.status.lastError = `aborted by ${req.value.by}: ${req.value.reason}`;
      return { message: `aborted in ${phase} by ${req.value.by}: no decision on the copy; the cycle records and ends`, phase, decision: d };
    }
    this.hooks.abortRunning();
    const next = d ? 'the cycle ends without opening the gap' : 'the cycle takes the close path and records a report';
    return { message: `aborted in ${phase} by ${req.value.by}: ${next}`, phase };
  }

  private refuse(name: string, reason: string): void {
    // A signal cannot answer its sender: say it in the log and the status query, change nothing.
    this.status.rejectedMessages.push(`${name} rejected: ${reason}`);
    log.warn(`${name} signal rejected`, { error: reason });
  }
}
