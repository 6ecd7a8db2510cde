/**
 * DECIDE: the cycle asks people to approve or reject a copy (after VALIDATE, or before the gap opens with
 * `approval.beforeOpen`) and waits, bounded by a timeout whose default is said in the report. Operators answer
 * with `approve`, `reject` or `abort`, as updates (a synchronous validator tells the caller why a request was
 * refused, and a refused request changes nothing) or as signals of the same names (a refused signal is named
 * in `status.rejectedMessages` and the worker log). Invariant 4: the after-validate wait starts only once the
 * close path has verified the gap closed.
 */
import { ApplicationFailure, condition, log, setHandler, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import { signatureKey, statementText, verifySshSignature, type DecisionStatement, type SignedDecision } from '../vocabulary/decision-signature';
import { IrDecision, type CyclePolicy, type CycleStatus, type Outcome, type Phase, type Verdict } from './cycle-messages';
import { abortSignal, abortUpdate, approveSignal, approveUpdate, messageDescriptions, parseAbortRequest, parseDecisionRequest, rejectSignal, rejectUpdate, type Decision, type DecisionReply, type DecisionRequest, type DecisionSignature, type DecisionStage, type SignedFields } from './operator-messages';

/** Phases in which `abort` still takes the close path (the gap may be open or about to be). */
const ABORTABLE: Phase[] = ['PREFLIGHT', 'OPEN', 'REPLICATE', 'CONVERGE', 'LOCK', 'VALIDATE'];

const fmtDuration = (s: number) => (s % 3600 === 0 ? `${s / 3600}h` : s % 60 === 0 ? `${s / 60}m` : `${s}s`);

/** How far a signed statement's issuedAt may lie ahead of the workflow's clock (the signer's clock runs fast). */
const FUTURE_SKEW_SECONDS = 120;

/** Who a request is from once its signature (if any) is checked. */
type Signer = { by: string; signed?: DecisionSignature };
type Checked = { ok: true; signer: Signer } | { ok: false; error: string };

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
  /** Nonces of the signed requests this cycle accepted, with who sent them: a replay is refused. */
  private readonly nonces = new Map<string, string>();

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
      // The handler checks again (same state, same answer): it must not trust that a validator ran.
      setHandler(
        update,
        (req) => {
          const checked = this.checkDecision(name, req);
          if (!checked.ok) return fail(checked.error);
          return this.decide(name, req as DecisionRequest, checked.signer);
        },
        {
          validator: (req) => {
            const checked = this.checkDecision(name, req);
            if (!checked.ok) fail(checked.error);
          },
          description: messageDescriptions[name],
        },
      );
      setHandler(
        signal,
        (req) => {
          const checked = this.checkDecision(name, req);
          if (!checked.ok) this.refuse(name, checked.error);
          else this.decide(name, req as DecisionRequest, checked.signer);
        },
        { description: messageDescriptions[name] },
      );
    }
    setHandler(
      abortUpdate,
      (req?: unknown) => {
        const checked = this.checkAbort(req);
        if (!checked.ok) return fail(checked.error);
        return this.abort(req, checked.signer);
      },
      {
        validator: (req?: unknown) => {
          const checked = this.checkAbort(req);
          if (!checked.ok) fail(checked.error);
        },
        description: messageDescriptions.abort,
      },
    );
    setHandler(
      abortSignal,
      (req?: unknown) => {
        const checked = this.checkAbort(req);
        if (!checked.ok) this.refuse('abort', checked.error);
        else this.abort(req, checked.signer);
      },
      { description: messageDescriptions.abort },
    );
  }

  /** The run's policy, known after PREFLIGHT. */
  setPolicy(policy: CyclePolicy): void {
    this.policy = policy;
    this.status.decisionSigning = policy.operators ? 'signed' : 'unsigned';
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

  /** Whether an approve/reject can be taken now, and from whom. Changes nothing. */
  private checkDecision(name: 'approve' | 'reject', input: unknown): Checked {
    const parsed = parseDecisionRequest(name, input);
    if (!parsed.ok) return parsed;
    const req = parsed.value;
    const d = this.pending;
    if (!d) {
      const last = this.status.decisions?.at(-1);
      if (last && last.state !== 'pending') {
        return { ok: false, error: `too late: the decision was already taken (${last.state}${last.by ? ` by ${last.by}` : ''} at ${last.decidedAt})` };
      }
      return { ok: false, error: `nothing awaits a decision: the cycle is in ${this.status.phase}${this.policy?.approval ? ` (approval.when: ${this.policy.approval.when}; a decision is asked after VALIDATE with the gap closed)` : ''}` };
    }
    if (Date.now() >= Date.parse(d.deadline)) return { ok: false, error: `too late: the decision deadline ${d.deadline} has passed (${d.onTimeout} by default)` };
    const checked = this.checkSigner(name, req, 'approver');
    if (!checked.ok) return checked;
    const { by, signed } = checked.signer;
    if (d.approvers && !d.approvers.includes(by)) {
      return { ok: false, error: `${by} is not an approver of vault ${this.status.vaultId} (approval.approvers: ${d.approvers.join(', ')})` };
    }
    if (name === 'approve') {
      const sameKey = signed && d.approvals.find((a) => a.signed?.fingerprint === signed.fingerprint);
      if (sameKey) {
        return { ok: false, error: `the same key ${signed.fingerprint} (${sameKey.by}) has already approved: approval.quorum ${d.quorum} needs ${d.quorum - d.approvals.length} more approval(s) signed by another approver's key` };
      }
      if (d.approvals.some((a) => a.by === by)) {
        return { ok: false, error: `${by} has already approved: approval.quorum ${d.quorum} needs ${d.quorum - d.approvals.length} more approval(s) from another person` };
      }
    }
    return checked;
  }

  /**
   * Who sent a request. With operators configured (policy.operators), the signature decides: it must be made with
   * a configured key whose operator has `role` for this vault, over this cycle's statement, recently, with a
   * nonce not seen before. Without operators, `by` is taken as written (status.decisionSigning: unsigned).
   */
  private checkSigner(decision: SignedDecision, req: { by?: string; reason: string; ticket?: string } & SignedFields, role: 'approver' | 'operator'): Checked {
    const operators = this.policy?.operators;
    const vault = this.status.vaultId;
    if (!operators) {
      if (req.by) return { ok: true, signer: { by: req.by } };
      if (decision === 'abort') return { ok: true, signer: { by: 'unknown' } };
      return { ok: false, error: `${decision} payload field "by" is required (who decides): vault ${vault} has no operators configured, so decisions are unsigned` };
    }
    if (!req.signature) {
      if (decision === 'abort' && this.policy?.approval?.unsignedAbort) return { ok: true, signer: { by: req.by ?? 'unknown' } };
      return {
        ok: false,
        error:
          `unsigned: vault ${vault} takes only signed ${decision} requests (operators are configured${decision === 'abort' ? '; approval.unsignedAbort is false' : ''}). ` +
          `Sign with your operator key: irctl decision sign ${decision} ${vault} --reason "…" prints the JSON to send ` +
          `(or ssh-keygen -Y sign -n isolated-recovery over the statement {namespace, workflowId, copyId, decision, reason, ticket, issuedAt, nonce} of ` +
          `namespace ${workflowInfo().namespace}, workflow ${workflowInfo().workflowId}, copy ${this.status.copyId})`,
      };
    }
    const claimed = signatureKey(req.signature);
    if (!claimed.ok) return { ok: false, error: `malformed signature: ${claimed.error}` };
    const fp = claimed.fingerprint;
    const operator = operators.find((o) => o.keys.includes(claimed.publicKey));
    if (!operator) {
      return { ok: false, error: `unknown key ${fp}: no operator of vault ${vault} has it (operators: ${operators.map((o) => o.name).join(', ') || 'none for this vault'}); sign with your configured key, or add this key to your entry under operators: in the configuration` };
    }
    if (!operator.roles.includes(role)) {
      return { ok: false, error: `${operator.name} (key ${fp}) does not have the ${role} role for vault ${vault} (roles: ${operator.roles.join(', ')}): ${decision} needs an operator with role ${role}` };
    }
    if (req.by && req.by !== operator.name) {
      return { ok: false, error: `"by" says ${req.by} but the signing key ${fp} is ${operator.name}'s: leave "by" out or write ${operator.name}` };
    }
    const statement: DecisionStatement = {
      namespace: workflowInfo().namespace,
      workflowId: workflowInfo().workflowId,
      copyId: this.status.copyId,
      decision,
      reason: req.reason,
      ticket: req.ticket ?? '',
      issuedAt: req.issuedAt!,
      nonce: req.nonce!,
    };
    const verified = verifySshSignature(req.signature, statementText(statement));
    if (!verified.ok) {
      if (!verified.error.startsWith('the signature does not match')) return { ok: false, error: `${operator.name}'s signature (key ${fp}): ${verified.error}` };
      return {
        ok: false,
        error: `signed for something else: ${operator.name}'s signature (key ${fp}) does not match this request's statement; it was made for another workflow, copy, namespace or decision, or the reason, ticket, issuedAt or nonce differ. Sign exactly ${statementText(statement)}`,
      };
    }
    const ageSeconds = (Date.now() - Date.parse(statement.issuedAt)) / 1000;
    const maxAge = this.policy?.approval?.signatureMaxAge ?? 900;
    if (ageSeconds > maxAge) {
      return { ok: false, error: `expired: ${operator.name}'s ${decision} was signed at ${statement.issuedAt}, ${Math.round(ageSeconds)}s ago, more than approval.signatureMaxAge (${fmtDuration(maxAge)}); sign a fresh statement` };
    }
    if (-ageSeconds > FUTURE_SKEW_SECONDS) {
      return { ok: false, error: `expired: ${operator.name}'s ${decision} says it was signed at ${statement.issuedAt}, ${Math.round(-ageSeconds)}s in the future of the cycle's clock (${new Date().toISOString()}); check the signing machine's clock and sign again` };
    }
    const usedBy = this.nonces.get(statement.nonce);
    if (usedBy) return { ok: false, error: `replayed: nonce ${statement.nonce} was already used in this cycle (${usedBy}); every signed request needs a fresh statement and signature` };
    return { ok: true, signer: { by: operator.name, signed: { operator: operator.name, fingerprint: fp, publicKey: claimed.publicKey, statement, signature: req.signature.trim() } } };
  }

  private remember(name: string, signer: Signer): void {
    if (signer.signed) this.nonces.set(signer.signed.statement.nonce, `${name} by ${signer.by}`);
  }

  private decide(name: 'approve' | 'reject', input: DecisionRequest, signer: Signer): DecisionReply {
    const d = this.pending!;
    const at = new Date().toISOString();
    const phase = this.status.phase;
    const parsed = parseDecisionRequest(name, input);
    if (!parsed.ok) throw ApplicationFailure.nonRetryable(parsed.error); // checked before: unreachable
    const req = parsed.value;
    const { by, signed } = signer;
    this.remember(name, signer);
    if (name === 'reject') {
      Object.assign(d, { state: 'rejected', by, reason: req.reason, decidedAt: at }, req.ticket ? { ticket: req.ticket } : {}, signed ? { signed } : {});
      log.warn('copy rejected', { by, reason: req.reason, stage: d.stage, key: signed?.fingerprint });
      return { message: `rejected by ${by}: ${d.stage === 'before-open' ? 'the cycle ends without opening the gap' : 'the copy stays locked and is marked rejected'}`, phase, decision: d };
    }
    d.approvals.push({ by, reason: req.reason, ...(req.ticket ? { ticket: req.ticket } : {}), at, ...(signed ? { signed } : {}) });
    if (d.approvals.length < d.quorum) {
      log.info('approval recorded', { by, of: d.quorum, key: signed?.fingerprint });
      return { message: `approval ${d.approvals.length} of ${d.quorum} recorded from ${by}; waiting for another approver`, phase, decision: d };
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

  /**
   * Whether an abort can be taken now, and from whom. Changes nothing. Until PREFLIGHT has read the vault's
   * operators the signature cannot be checked: an abort is then taken as written (nothing is touched before
   * PREFLIGHT ends, and an abort only ever closes).
   */
  private checkAbort(input: unknown): Checked {
    const parsed = parseAbortRequest(input);
    if (!parsed.ok) return parsed;
    if (this.status.abort) return { ok: false, error: `already aborted by ${this.status.abort.by} at ${this.status.abort.at}` };
    if (!this.pending && !ABORTABLE.includes(this.status.phase)) {
      return { ok: false, error: `abort from ${parsed.value.by} arrived in ${this.status.phase}: too late, the gap is already being closed or is closed` };
    }
    if (!this.policy) return { ok: true, signer: { by: parsed.value.by } };
    const req = parsed.value;
    return this.checkSigner('abort', { ...req, by: input && typeof input === 'object' ? (input as { by?: string }).by : undefined }, 'operator');
  }

  private abort(input: unknown, signer: Signer): DecisionReply {
    const req = parseAbortRequest(input);
    if (!req.ok) throw ApplicationFailure.nonRetryable(req.error); // checked before: unreachable
    const { by, signed } = signer;
    const { reason } = req.value;
    this.remember('abort', signer);
    const phase = this.status.phase;
    this.status.abort = { by, reason, ...(req.value.ticket ? { ticket: req.value.ticket } : {}), at: new Date().toISOString(), ...(signed ? { signed } : {}) };
    log.warn('abort requested', { by, reason, phase, key: signed?.fingerprint });
    const d = this.pending;
    if (d) Object.assign(d, { state: 'aborted', by, reason, decidedAt: this.status.abort.at }, signed ? { signed } : {});
    if (d?.stage === 'after-validate') {
      // The gap is closed already: the wait ends and the cycle records, with no decision on the copy.
      this.status.lastError = `aborted by ${by}: ${reason}`;
      return { message: `aborted in ${phase} by ${by}: no decision on the copy; the cycle records and ends`, phase, decision: d };
    }
    this.hooks.abortRunning();
    const next = d ? 'the cycle ends without opening the gap' : 'the cycle takes the close path and records a report';
    return { message: `aborted in ${phase} by ${by}: ${next}`, phase };
  }

  private refuse(name: string, reason: string): void {
    // A signal cannot answer its sender: say it in the log and the status query, change nothing.
    this.status.rejectedMessages.push(`${name} rejected: ${reason}`);
    log.warn(`${name} signal rejected`, { error: reason });
  }
}
