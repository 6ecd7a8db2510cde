/**
 * Signed decisions in the evidence store: each decision record (activities/report.ts) carries, per signed approval,
 * rejection or abort, the operator, key fingerprint, public key, statement and armored signature, and the vault's
 * operators as configured when it was recorded. `irctl evidence verify` re-verifies every one with the workflow's
 * own verifier (vocabulary/decision-signature.ts) and names each decision that does not verify.
 */
import type { PolicyOperator } from '../config/schema';
import { SIGNATURE_NAMESPACE, statementText, verifySshSignature } from '../vocabulary/decision-signature';
import type { Decision, DecisionSignature } from '../workflows/operator-messages';
import { listRecords } from './evidence';

export interface DecisionRecord extends Decision {
  id: string;
  vaultId: string;
  copyId: string;
  signing?: 'signed' | 'unsigned';
  operators?: PolicyOperator[];
}

export interface SignatureProblem {
  decision: string; // the record id, e.g. lab-vault-20261204T120000Z.after-validate
  operator: string;
  problem: string;
}

export interface DecisionSignatureCheck {
  decisions: number;
  signed: number; // decision records made with signing on
  unsigned: number; // decision records of vaults without operators (names are claims)
  signatures: number; // signatures checked
  problems: SignatureProblem[];
}

/** What each signature in a decision record should be: approvals sign `approve`; the end signs reject or abort. */
function signaturesOf(r: DecisionRecord): Array<{ expect: string; sig: DecisionSignature }> {
  const out = r.approvals.flatMap((a) => (a.signed ? [{ expect: 'approve', sig: a.signed }] : []));
  if (r.signed) out.push({ expect: r.state === 'aborted' ? 'abort' : 'reject', sig: r.signed });
  return out;
}

export function checkDecisionRecord(r: DecisionRecord): { signatures: number; problems: SignatureProblem[] } {
  const problems: SignatureProblem[] = [];
  const sigs = signaturesOf(r);
  const add = (operator: string, problem: string) => problems.push({ decision: r.id, operator, problem });
  if (r.signing === 'signed') {
    // A signed vault's decision taken by people must carry their signatures (a timeout or a cancel carries none).
    const approvalsUnsigned = r.approvals.filter((a) => !a.signed);
    for (const a of approvalsUnsigned) add(a.by, `approval by ${a.by} at ${a.at} carries no signature, but the vault took only signed decisions`);
    if ((r.state === 'rejected' && !r.timedOut && !r.signed) || (r.state === 'aborted' && !r.signed && r.by !== 'unknown')) {
      add(r.by ?? 'unknown', `${r.state} by ${r.by ?? 'unknown'} carries no signature, but the vault took only signed decisions`);
    }
  }
  for (const { expect, sig } of sigs) {
    const who = sig.operator;
    const st = sig.statement;
    if (!st || typeof sig.signature !== 'string') {
      add(who, 'the signed entry lacks its statement or signature');
      continue;
    }
    const check = verifySshSignature(sig.signature, statementText(st), SIGNATURE_NAMESPACE);
    if (!check.ok) {
      add(who, `${who}'s ${st.decision} signature does not verify: ${check.error}`);
      continue;
    }
    if (check.publicKey !== sig.publicKey || check.fingerprint !== sig.fingerprint) {
      add(who, `${who}'s ${st.decision} was signed with key ${check.fingerprint}, but the record names key ${sig.fingerprint}`);
    }
    if (st.decision !== expect) add(who, `the signed statement says ${st.decision} where the record has ${expect}`);
    if (st.copyId !== r.copyId) add(who, `the signed statement is for copy ${st.copyId}, the record for ${r.copyId}`);
    if (r.operators) {
      const op = r.operators.find((o) => o.name === who);
      if (!op) add(who, `${who} is not among the operators recorded with the decision (${r.operators.map((o) => o.name).join(', ')})`);
      else if (!op.keys.includes(check.publicKey)) add(who, `key ${check.fingerprint} was not one of ${who}'s configured keys when the decision was recorded`);
    }
  }
  return { signatures: sigs.length, problems };
}

export async function verifyDecisionSignatures(evidenceDir: string, vaultId: string): Promise<DecisionSignatureCheck> {
  const records = await listRecords<DecisionRecord>(evidenceDir, vaultId, 'decision');
  const out: DecisionSignatureCheck = { decisions: records.length, signed: 0, unsigned: 0, signatures: 0, problems: [] };
  for (const r of records) {
    if (r.signing === 'signed') out.signed++;
    else out.unsigned++;
    const { signatures, problems } = checkDecisionRecord(r);
    out.signatures += signatures;
    out.problems.push(...problems);
  }
  return out;
}
