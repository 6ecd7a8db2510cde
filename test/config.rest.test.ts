/** Config fields of the DD REST API and the backup software: relative paths resolved, wrong fields named with the fix. */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { ConfigError, parseConfig } from '../config/load';

const FP = `SHA256:${Array.from({ length: 32 }, () => 'AB').join(':')}`;
const base = () => parse(readFileSync('config/lab.yaml', 'utf8'));
const errorOf = (raw: unknown): Error => {
  try {
    parseConfig(raw, 'test.yaml', '/etc/ir');
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected an error');
};

test('vault.dd.rest, lock.method and backup load, paths made absolute, durations in seconds', () => {
  const raw = base();
  raw.vaults[0].vault.dd.rest = { url: 'https://vault-dd:3009', tls: { fingerprint: FP, caFile: 'certs/dd.crt' } };
  raw.vaults[0].lock = { method: 'rest' };
  raw.vaults[0].backup = { software: 'bareos', url: 'https://bareos:8000', tls: { fingerprint: FP, caFile: 'certs/b.crt' }, username: 'ir', password: { file: 'bareos-pw' }, protects: ['backup-prod'], hold: { schedules: ['Nightly'] }, drainTimeout: '30m' };
  const v = parseConfig(raw, 'test.yaml', '/etc/ir').vaults[0];
  expect(v.vault.dd.rest).toMatchObject({ tls: { caFile: '/etc/ir/certs/dd.crt' }, timeout: 30 });
  expect(v.lock.method).toBe('rest');
  expect(v.backup).toMatchObject({ password: { file: '/etc/ir/bareos-pw' }, drainTimeout: 1800, pollInterval: 10, reassertInterval: 60, hold: { jobs: [], schedules: ['Nightly'], workflows: [] } });
  expect(parseConfig(base(), 'lab.yaml', '/').vaults[0].lock.method).toBe('atime');
});

test('lock.method rest without vault.dd.rest is refused, naming both fields', () => {
  const raw = base();
  raw.vaults[0].lock = { method: 'rest' };
  const err = errorOf(raw);
  expect(err).toBeInstanceOf(ConfigError);
  expect(err.message).toContain('vaults[0].lock.method: "rest" needs vaults[0].vault.dd.rest');
});

test('wrong REST and backup fields are named with the fix', () => {
  const raw = base();
  raw.vaults[0].vault.dd.rest = { url: 'http://vault-dd:3009', tls: { fingerprint: 'ab:cd', caFile: 'x' }, rejectUnauthorized: false };
  raw.vaults[0].backup = { software: 'networker', url: 'https://nw:9090', tls: { fingerprint: FP, caFile: 'n.crt' }, username: 'ir', password: 'inline', protects: [], hold: { jobs: ['x'] } };
  const msg = errorOf(raw).message;
  expect(msg).toContain('vaults[0].vault.dd.rest.url: an https:// URL');
  expect(msg).toContain('vaults[0].vault.dd.rest.tls.fingerprint: a certificate fingerprint like SHA256:AB:CD');
  expect(msg).toMatch(/vaults\[0\]\.vault\.dd\.rest: Unrecognized key: "rejectUnauthorized"/);
  expect(msg).toContain('vaults[0].backup.password: a secret reference');
  expect(msg).toContain('vaults[0].backup.protects: name at least one job');
  // The hold must fit the software (checked once the rest of the block is valid).
  const ok = base();
  ok.vaults[0].backup = { software: 'networker', url: 'https://nw:9090', tls: { fingerprint: FP, caFile: 'n.crt' }, username: 'ir', password: { env: 'NW_PW' }, protects: ['prod-fs'], hold: { jobs: ['x'] } };
  expect(errorOf(ok).message).toContain('vaults[0].backup.hold: NetWorker holds protection-policy workflows');
});

test('a certificate pin read from a file (tls.fingerprint: { file }), like known_hosts for SSH; a missing file is named', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ir-pin-'));
  // What `openssl x509 -noout -fingerprint -sha256` prints, and what the lab writes beside its certificates.
  writeFileSync(join(dir, 'dd.sha256'), `sha256 Fingerprint=${FP.slice('SHA256:'.length)}\n`);
  const raw = base();
  raw.vaults[0].vault.dd.rest = { url: 'https://vault-dd:3009', tls: { fingerprint: { file: 'dd.sha256' }, caFile: 'dd.crt' } };
  expect(parseConfig(raw, 'test.yaml', dir).vaults[0].vault.dd.rest!.tls.fingerprint).toBe(FP);

  raw.vaults[0].backup = { software: 'bareos', url: 'https://bareos:8000', tls: { fingerprint: { file: 'missing.sha256' }, caFile: 'b.crt' }, username: 'ir', password: { file: 'pw' }, protects: ['p'], hold: { jobs: ['p'] } };
  const err = (() => {
    try {
      parseConfig(raw, 'test.yaml', dir);
    } catch (e) {
      return e as Error;
    }
    throw new Error('expected an error');
  })();
  expect(err).toBeInstanceOf(ConfigError);
  expect(err.message).toContain(`vaults[0].backup.tls.fingerprint.file: cannot read ${join(dir, 'missing.sha256')} (ENOENT)`);

  // The committed lab example pins by file; on a lab folder without certificates it says which file is missing.
  const lab = errorOf(parse(readFileSync('config/lab-rest-bareos.yaml', 'utf8')));
  expect(lab.message).toContain('vaults[0].vault.dd.rest.tls.fingerprint.file: cannot read /etc/.lab/tls/vault-dd-rest.sha256');
});
