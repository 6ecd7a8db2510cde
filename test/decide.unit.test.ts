/** DECIDE's pure parts: the approval schema (config and run override) and the payload parsers shared with clients. */
import { parse } from 'yaml';
import { readFileSync } from 'node:fs';
import { approvalSchema } from '../config/schema';
import { ConfigError, findVault, loadConfig, parseConfig } from '../config/load';
import { checkPolicyOverride } from '../activities/preflight';
import { parseAbortRequest, parseDecisionRequest } from '../workflows/operator-messages';
import { decisionNeeded } from '../workflows/decide';

const errorOf = (fn: () => unknown): Error => {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected an error');
};

describe('approval policy', () => {
  test('defaults: ask about suspect copies, anyone, one person, 24 h, then reject', () => {
    expect(approvalSchema.parse({})).toEqual({ when: 'suspect', quorum: 1, timeout: 86400, onTimeout: 'reject', beforeOpen: false, beforeOpenTimeout: 3600, unsignedAbort: false, signatureMaxAge: 900 });
  });

  test('config/lab.yaml carries the rule, durations written like the others', () => {
    const approval = findVault(loadConfig('config/lab.yaml'), 'lab-vault').policy.approval;
    expect(approval).toMatchObject({ when: 'suspect', quorum: 1, timeout: 600, onTimeout: 'reject' });
  });

  test('a wrong rule names the field', () => {
    const raw = parse(readFileSync('config/lab.yaml', 'utf8'));
    raw.vaults[0].policy.approval = { when: 'sometimes', quorum: 2, approvers: ['alice'], timeout: 'a week' };
    const err = errorOf(() => parseConfig(raw, 'bad.yaml', '/'));
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toContain('vaults[0].policy.approval.when');
    expect(err.message).toContain('vaults[0].policy.approval.timeout: a duration like 90s, 30m, 12h or 7d');
    const quorum = parse(readFileSync('config/lab.yaml', 'utf8'));
    quorum.vaults[0].policy.approval = { quorum: 2, approvers: ['alice'] };
    expect(errorOf(() => parseConfig(quorum, 'bad.yaml', '/')).message).toContain('vaults[0].policy.approval.quorum: quorum 2 needs at least two different approvers');
  });

  test('a run override is checked with the same schema', () => {
    expect(checkPolicyOverride({ approval: { when: 'always', timeout: '2h' } })).toEqual({ approval: { when: 'always', timeout: '2h' } });
    expect(errorOf(() => checkPolicyOverride({ approval: { timeout: 'soon' } })).message).toBe('policy.approval.timeout: a duration like 90s, 30m, 12h or 7d');
    expect(errorOf(() => checkPolicyOverride({ approval: { colour: 'blue' } })).message).toContain('policy.approval');
    expect(errorOf(() => checkPolicyOverride({ operators: [] })).message).toBe('policy.operators: operators and their keys come from the configuration only (operators:), never from a run');
  });

  test('when a decision is needed', () => {
    const policy = (when: 'suspect' | 'always' | 'never') => ({ approval: approvalSchema.parse({ when }) }) as any;
    expect(decisionNeeded(policy('suspect'), 'suspect')).toContain('suspect');
    expect(decisionNeeded(policy('suspect'), 'clean')).toBeUndefined();
    expect(decisionNeeded(policy('always'), 'clean')).toContain('always');
    expect(decisionNeeded(policy('never'), 'suspect')).toBeUndefined();
    expect(decisionNeeded(undefined, 'suspect')).toBeUndefined(); // a run from before DECIDE existed
  });
});

describe('operator payloads', () => {
  test('approve/reject need by and reason; ticket is optional; the field is named', () => {
    expect(parseDecisionRequest('approve', { by: ' alice ', reason: 'ok', ticket: 'CHG-1' })).toEqual({ ok: true, value: { by: 'alice', reason: 'ok', ticket: 'CHG-1' } });
    expect(parseDecisionRequest('reject', { by: 'alice', reason: 'no' })).toEqual({ ok: true, value: { by: 'alice', reason: 'no' } });
    const err = (input: unknown) => {
      const r = parseDecisionRequest('approve', input);
      return r.ok ? 'accepted' : r.error;
    };
    expect(err(undefined)).toContain('approve payload must be an object like {"by":"alice","reason":"...","ticket":"CHG-1234"}, got nothing');
    expect(err({ reason: 'x' })).toContain('approve payload field "by" is required');
    expect(err({ by: 'a', reason: '  ' })).toContain('approve payload field "reason" is required');
    expect(err({ by: 'a', reason: 'x', ticket: 7 })).toContain('approve payload field "ticket" must be a string');
    expect(err({ by: 'a', reason: 'x', who: 'b' })).toContain('unknown field "who"');
    expect(err({ by: 'a', reason: 'x'.repeat(2000) })).toContain('"reason" is longer than 1000 characters');
  });

  test('a signed payload may leave by out, and must carry issuedAt, nonce and signature together', () => {
    const signed = { reason: ' ok ', issuedAt: '2026-12-04T12:00:00.000Z', nonce: '0123456789abcdef', signature: '-----BEGIN SSH SIGNATURE-----\nAAAA\n-----END SSH SIGNATURE-----' };
    expect(parseDecisionRequest('approve', signed)).toEqual({ ok: true, value: { ...signed, reason: 'ok' } });
    const err = (input: unknown) => {
      const r = parseDecisionRequest('approve', input);
      return r.ok ? 'accepted' : r.error;
    };
    expect(err({ ...signed, nonce: undefined })).toBe('approve payload is signed but lacks "nonce": a signed payload carries issuedAt, nonce and signature (irctl decision sign prints all three)');
    expect(err({ ...signed, issuedAt: 'yesterday' })).toBe('approve payload field "issuedAt" must be an ISO-8601 UTC time like 2026-12-04T12:00:00.000Z, got "yesterday"');
    expect(err({ ...signed, nonce: 'short' })).toBe('approve payload field "nonce" must be 16 to 128 random hex or base64url characters (e.g. openssl rand -hex 16)');
    expect(parseAbortRequest({ ...signed, by: 'carol' })).toEqual({ ok: true, value: { ...signed, by: 'carol', reason: ' ok ' } });
  });

  test('abort stays lenient (no payload, a bare string) and accepts a ticket', () => {
    expect(parseAbortRequest(undefined)).toEqual({ ok: true, value: { reason: 'no reason given', by: 'unknown' } });
    expect(parseAbortRequest('stop')).toEqual({ ok: true, value: { reason: 'stop', by: 'unknown' } });
    expect(parseAbortRequest({ by: 'bob', reason: 'x', ticket: 'CHG-1' })).toEqual({ ok: true, value: { by: 'bob', reason: 'x', ticket: 'CHG-1' } });
    const r = parseAbortRequest({ reason: 42 });
    expect(r.ok ? '' : r.error).toContain('abort payload field "reason" must be a string');
  });
});
