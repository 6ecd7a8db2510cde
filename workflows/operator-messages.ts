/**
 * Operators' messages to a cycle: approve, reject and abort, as updates (the caller hears why a request was refused)
 * and as signals of the same names (callers that cannot wait); both go through the same checks. Payloads end up in
 * workflow history and reports: names, reasons and tickets only.
 */
import { defineSignal, defineUpdate } from '@temporalio/workflow';
import type { Phase } from '../vocabulary/phases';

export interface AbortRequest {
  reason?: string;
  by?: string;
  ticket?: string;
}

/** The payload of `approve` and `reject` (update or signal): who decides, why, and an optional change ticket. */
export interface DecisionRequest {
  by: string;
  reason: string;
  ticket?: string;
}

export type DecisionStage = 'before-open' | 'after-validate';
export type DecisionState = 'pending' | 'approved' | 'rejected' | 'aborted' | 'cancelled';

/** One question put to people, and its answer. Also the value of the IrDecision search attribute (state). */
export interface Decision {
  stage: DecisionStage;
  why: string; // why a decision is asked
  askedAt: string;
  deadline: string;
  timeoutSeconds: number;
  onTimeout: 'approve' | 'reject';
  quorum: number;
  approvers?: string[];
  approvals: { by: string; reason: string; ticket?: string; at: string }[];
  state: DecisionState;
  decidedAt?: string;
  by?: string; // the deciders (comma-separated under quorum 2), or "timeout"
  reason?: string;
  ticket?: string;
  timedOut?: boolean;
}

/** What an approve/reject/abort update answers. */
export interface DecisionReply {
  message: string;
  phase: Phase;
  decision?: Decision;
}

// Operators' messages. approve/reject/abort exist both as updates (the caller hears why a request was refused)
// and as signals of the same names (callers that cannot wait); both go through the same checks.
export const abortSignal = defineSignal<[AbortRequest?]>('abort');
export const approveSignal = defineSignal<[DecisionRequest]>('approve');
export const rejectSignal = defineSignal<[DecisionRequest]>('reject');
export const abortUpdate = defineUpdate<DecisionReply, [AbortRequest]>('abort');
export const approveUpdate = defineUpdate<DecisionReply, [DecisionRequest]>('approve');
export const rejectUpdate = defineUpdate<DecisionReply, [DecisionRequest]>('reject');

/** Shown by the Temporal UI next to each name in its signal/update/query dropdowns. */
export const messageDescriptions = {
  approve: 'Approve the copy waiting in DECIDE (it then counts as good). JSON: {"by":"alice","reason":"expected mass change","ticket":"CHG-1234"}',
  reject: 'Reject the copy waiting in DECIDE (it stays locked, marked rejected). JSON: {"by":"alice","reason":"encrypted files","ticket":"INC-42"}',
  abort: 'Abort the cycle: before CLOSE it takes the close path; in DECIDE it ends without a decision. JSON: {"by":"alice","reason":"change freeze"}',
  status: 'Phase, gap state, exposure so far, findings, decisions and rejected messages',
} as const;

type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

const MAX_TEXT = 1000; // names and reasons end up in history, the UI and reports: keep them short

function checkFields(name: string, obj: Record<string, unknown>, example: string): string | undefined {
  for (const key of Object.keys(obj)) {
    if (!['by', 'reason', 'ticket'].includes(key)) return `${name} payload has unknown field "${key}": use only "by", "reason" and "ticket", e.g. ${example}`;
  }
  for (const key of ['by', 'reason', 'ticket']) {
    const v = obj[key];
    if (v === undefined) continue;
    if (typeof v !== 'string') return `${name} payload field "${key}" must be a string, e.g. ${example}`;
    if (v.length > MAX_TEXT) return `${name} payload field "${key}" is longer than ${MAX_TEXT} characters`;
  }
  return undefined;
}

/**
 * Checks an abort payload sent from the CLI or UI. Returns the request or an explanation naming the field.
 * Lenient on purpose where safety wins: no payload or a bare string still aborts.
 */
export function parseAbortRequest(input: unknown): Parsed<{ reason: string; by: string; ticket?: string }> {
  if (input === undefined || input === null) return { ok: true, value: { reason: 'no reason given', by: 'unknown' } };
  if (typeof input === 'string') return { ok: true, value: { reason: input || 'no reason given', by: 'unknown' } };
  const example = '{"reason":"...","by":"..."}';
  if (typeof input !== 'object' || Array.isArray(input)) {
    return { ok: false, error: `abort payload must be an object like ${example}, got ${JSON.stringify(input)}` };
  }
  const obj = input as Record<string, unknown>;
  const error = checkFields('abort', obj, example);
  if (error) return { ok: false, error };
  const value = { reason: (obj.reason as string) || 'no reason given', by: (obj.by as string) || 'unknown' };
  return { ok: true, value: obj.ticket ? { ...value, ticket: obj.ticket as string } : value };
}

/** Checks an approve/reject payload: `by` and `reason` are required (they go into the report), `ticket` optional. */
export function parseDecisionRequest(name: 'approve' | 'reject', input: unknown): Parsed<DecisionRequest> {
  const example = `{"by":"alice","reason":"...","ticket":"CHG-1234"}`;
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    return { ok: false, error: `${name} payload must be an object like ${example}, got ${input === undefined ? 'nothing' : JSON.stringify(input)}` };
  }
  const obj = input as Record<string, unknown>;
  const error = checkFields(name, obj, example);
  if (error) return { ok: false, error };
  for (const key of ['by', 'reason'] as const) {
    if (typeof obj[key] !== 'string' || !(obj[key] as string).trim()) {
      return { ok: false, error: `${name} payload field "${key}" is required (${key === 'by' ? 'who decides' : 'why: it goes into the report'}), e.g. ${example}` };
    }
  }
  const value: DecisionRequest = { by: (obj.by as string).trim(), reason: (obj.reason as string).trim() };
  if (typeof obj.ticket === 'string' && obj.ticket.trim()) value.ticket = obj.ticket.trim();
  return { ok: true, value };
}
