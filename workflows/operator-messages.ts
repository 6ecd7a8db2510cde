/**
 * Operators' messages to a cycle: approve, reject and abort, as updates (the caller hears why a request was refused)
 * and as signals of the same names (callers that cannot wait); both go through the same checks. Payloads end up in
 * workflow history and reports: names, reasons and tickets only.
 */
import { defineSignal, defineUpdate } from '@temporalio/workflow';
import { NONCE_PATTERN, type DecisionStatement } from '../vocabulary/decision-signature';
import type { Phase } from '../vocabulary/phases';

/**
 * A signed request's proof (vocabulary/decision-signature.ts): `signature` is `ssh-keygen -Y sign -n isolated-recovery`
 * over the statement the workflow rebuilds from its own namespace, workflow id and copy id, the message's name, and
 * `reason`, `ticket` ('' when none), `issuedAt`, `nonce`. Required when the vault has operators configured.
 */
export interface SignedFields {
  issuedAt?: string;
  nonce?: string;
  signature?: string;
}

export interface AbortRequest extends SignedFields {
  reason?: string;
  by?: string;
  ticket?: string;
}

/**
 * The payload of `approve` and `reject` (update or signal): who decides, why, and an optional change ticket. Signed,
 * `by` may be left out (the decider is the operator whose key signed); unsigned (no operators configured) it is required.
 */
export interface DecisionRequest extends SignedFields {
  by?: string;
  reason: string;
  ticket?: string;
}

/** A verified signature as recorded with the decision (status, report, evidence): who, which key, what, the proof. */
export interface DecisionSignature {
  operator: string;
  fingerprint: string; // SHA256:… as ssh-keygen -l prints it
  publicKey: string; // "ssh-ed25519 AAAA…" (the configured key that verified)
  statement: DecisionStatement;
  signature: string; // the armored SSHSIG as sent
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
  approvals: { by: string; reason: string; ticket?: string; at: string; signed?: DecisionSignature }[];
  state: DecisionState;
  /** The signed rejection or abort that ended this decision (approvals carry their own). */
  signed?: DecisionSignature;
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

const SIGNED_JSON = (d: string) =>
  `With operators configured it must be signed: paste the JSON that \`irctl decision sign ${d} VAULT --reason "…"\` prints, {"reason":"…","ticket":"…","issuedAt":"…","nonce":"…","signature":"-----BEGIN SSH SIGNATURE-----\\n…"}; unsigned vaults take`;

/** Shown by the Temporal UI next to each name in its signal/update/query dropdowns. */
export const messageDescriptions = {
  approve: `Approve the copy waiting in DECIDE (it then counts as good). ${SIGNED_JSON('approve')} {"by":"alice","reason":"expected mass change","ticket":"CHG-1234"}`,
  reject: `Reject the copy waiting in DECIDE (it stays locked, marked rejected). ${SIGNED_JSON('reject')} {"by":"alice","reason":"encrypted files","ticket":"INC-42"}`,
  abort: `Abort the cycle: before CLOSE it takes the close path; in DECIDE it ends without a decision. ${SIGNED_JSON('abort')} {"by":"alice","reason":"change freeze"}`,
  status: 'Phase, gap state, exposure so far, findings, decisions and rejected messages',
} as const;

type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

const MAX_TEXT = 1000; // names and reasons end up in history, the UI and reports: keep them short
const MAX_SIGNATURE = 4000; // an armored SSHSIG of an ecdsa-p521 key is under 600 characters
const FIELDS = ['by', 'reason', 'ticket', 'issuedAt', 'nonce', 'signature'];

function checkFields(name: string, obj: Record<string, unknown>, example: string): string | undefined {
  for (const key of Object.keys(obj)) {
    if (!FIELDS.includes(key)) return `${name} payload has unknown field "${key}": use only ${FIELDS.map((f) => `"${f}"`).join(', ')}, e.g. ${example}`;
  }
  for (const key of FIELDS) {
    const v = obj[key];
    if (v === undefined) continue;
    if (typeof v !== 'string') return `${name} payload field "${key}" must be a string, e.g. ${example}`;
    const max = key === 'signature' ? MAX_SIGNATURE : MAX_TEXT;
    if (v.length > max) return `${name} payload field "${key}" is longer than ${max} characters`;
  }
  const signed = ['issuedAt', 'nonce', 'signature'].filter((k) => obj[k] !== undefined);
  if (signed.length && signed.length < 3) {
    return `${name} payload is signed but lacks ${['issuedAt', 'nonce', 'signature'].filter((k) => obj[k] === undefined).map((k) => `"${k}"`).join(' and ')}: a signed payload carries issuedAt, nonce and signature (irctl decision sign prints all three)`;
  }
  if (signed.length) {
    const issuedAt = obj.issuedAt as string;
    if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/.test(issuedAt) || Number.isNaN(Date.parse(issuedAt))) {
      return `${name} payload field "issuedAt" must be an ISO-8601 UTC time like 2026-12-04T12:00:00.000Z, got ${JSON.stringify(issuedAt)}`;
    }
    if (!NONCE_PATTERN.test(obj.nonce as string)) return `${name} payload field "nonce" must be 16 to 128 random hex or base64url characters (e.g. openssl rand -hex 16)`;
  }
  return undefined;
}

function signedPart(obj: Record<string, unknown>): SignedFields {
  return obj.signature === undefined ? {} : { issuedAt: obj.issuedAt as string, nonce: obj.nonce as string, signature: obj.signature as string };
}

/**
 * Checks an abort payload sent from the CLI or UI. Returns the request or an explanation naming the field.
 * Lenient on purpose where safety wins: no payload or a bare string still aborts.
 */
export function parseAbortRequest(input: unknown): Parsed<{ reason: string; by: string; ticket?: string } & SignedFields> {
  if (input === undefined || input === null) return { ok: true, value: { reason: 'no reason given', by: 'unknown' } };
  if (typeof input === 'string') return { ok: true, value: { reason: input || 'no reason given', by: 'unknown' } };
  const example = '{"reason":"...","by":"..."}';
  if (typeof input !== 'object' || Array.isArray(input)) {
    return { ok: false, error: `abort payload must be an object like ${example}, got ${JSON.stringify(input)}` };
  }
  const obj = input as Record<string, unknown>;
  const error = checkFields('abort', obj, example);
  if (error) return { ok: false, error };
  const value = { reason: (obj.reason as string) || 'no reason given', by: (obj.by as string) || 'unknown', ...signedPart(obj) };
  return { ok: true, value: obj.ticket ? { ...value, ticket: obj.ticket as string } : value };
}

/**
 * Checks an approve/reject payload: `reason` is required (it goes into the report), `ticket` optional; `by` is
 * required unless the payload is signed (the signer's operator name is the decider). Reason and ticket are trimmed
 * before the workflow rebuilds the signed statement from them.
 */
export function parseDecisionRequest(name: 'approve' | 'reject', input: unknown): Parsed<DecisionRequest> {
  const example = `{"by":"alice","reason":"...","ticket":"CHG-1234"}`;
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    return { ok: false, error: `${name} payload must be an object like ${example}, got ${input === undefined ? 'nothing' : JSON.stringify(input)}` };
  }
  const obj = input as Record<string, unknown>;
  const error = checkFields(name, obj, example);
  if (error) return { ok: false, error };
  for (const key of obj.signature === undefined ? (['by', 'reason'] as const) : (['reason'] as const)) {
    if (typeof obj[key] !== 'string' || !(obj[key] as string).trim()) {
      return { ok: false, error: `${name} payload field "${key}" is required (${key === 'by' ? 'who decides' : 'why: it goes into the report'}), e.g. ${example}` };
    }
  }
  const value: DecisionRequest = { reason: (obj.reason as string).trim(), ...signedPart(obj) };
  if (typeof obj.by === 'string' && obj.by.trim()) value.by = obj.by.trim();
  if (typeof obj.ticket === 'string' && obj.ticket.trim()) value.ticket = obj.ticket.trim();
  return { ok: true, value };
}
