/** The vault configuration: the shipped lab config loads; bad files name every wrong field and the fix. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { ConfigError, findVault, loadConfig, parseConfig, resolveSecret } from '../config/load';
import { checkPolicyOverride } from '../activities/preflight';

const dir = mkdtempSync(join(tmpdir(), 'ir-config-'));
const write = (name: string, content: unknown) => {
  const path = join(dir, name);
  writeFileSync(path, typeof content === 'string' ? content : stringify(content), { mode: 0o600 }); // secrets must be private (test/secrets.test.ts)
  return path;
};
const errorOf = (fn: () => unknown): Error => {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected an error');
};

describe('vault configuration', () => {
  test('config/lab.yaml loads, with paths made absolute and durations in seconds', () => {
    const config = loadConfig('config/lab.yaml');
    const vault = findVault(config, 'lab-vault');
    expect(vault.switch!.platform).toBe('cisco-ios');
    expect(vault.policy.retention).toBe(7 * 86400);
    expect(vault.policy.maxOpen).toBe(30 * 60);
    expect(vault.source.mountPath.startsWith('/')).toBe(true);
    expect('file' in vault.switch!.password && vault.switch!.password.file.endsWith('.lab/secrets/switch-password')).toBe(true);
  });

  test('every wrong field is named by its path', () => {
    const raw = loadRaw();
    raw.vaults[0].switch.port = 'twenty-two';
    raw.vaults[0].switch.password = 'hunter2'; // an inline secret
    raw.vaults[0].policy.maxOpen = 'forever';
    raw.vaults[0].replication.contexts = ['vault-dd/data/col1/x'];
    raw.vaults[0].colour = 'blue';
    const err = errorOf(() => loadConfig(write('bad.yaml', raw)));
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toContain('vaults[0].switch.port');
    expect(err.message).toContain('vaults[0].switch.password: a secret reference: {env: VAR_NAME} or {file: /path/to/file}');
    expect(err.message).toContain('vaults[0].policy.maxOpen');
    expect(err.message).toContain('vaults[0].replication.contexts[0]: an MTree replication destination');
    expect(err.message).toMatch(/vaults\[0\].*colour/);
    expect(err.message).not.toContain('hunter2');
  });

  test('an unpinned host key, duplicate ids, unreadable files and bad YAML are refused clearly', () => {
    const raw = loadRaw();
    raw.vaults[0].switch.hostKey = { fingerprint: 'MD5:aa:bb' };
    expect(errorOf(() => loadConfig(write('fp.yaml', raw))).message).toContain('vaults[0].switch.hostKey');
    const dup = loadRaw();
    dup.vaults.push(dup.vaults[0]);
    expect(errorOf(() => loadConfig(write('dup.yaml', dup))).message).toContain('vaults[1].id: "lab-vault" is used twice');
    expect(errorOf(() => loadConfig(join(dir, 'missing.yaml'))).message).toContain('Set IR_CONFIG');
    expect(errorOf(() => loadConfig(write('broken.yaml', 'vaults: [\n'))).message).toContain('not valid YAML');
  });

  test('an unknown vault is named along with the configured ones', () => {
    const config = loadConfig('config/lab.yaml');
    expect(errorOf(() => findVault(config, 'nope')).message).toBe('unknown vault "nope": configured vaults are "lab-vault"');
  });

  test('secrets resolve at run time and errors name the reference, not a value', () => {
    process.env.IR_TEST_SECRET = 's3cret';
    expect(resolveSecret({ env: 'IR_TEST_SECRET' }, 'switch password')).toBe('s3cret');
    expect(resolveSecret({ file: write('secret', 'filesecret\n') }, 'dd password')).toBe('filesecret');
    expect(errorOf(() => resolveSecret({ env: 'IR_TEST_UNSET' }, 'switch password')).message).toBe(
      'switch password: environment variable IR_TEST_UNSET is not set; export it on the worker',
    );
  });

  test('policy overrides from a workflow input are checked field by field', () => {
    expect(checkPolicyOverride({ maxOpenSeconds: 60, algorithm: 'blake3' })).toEqual({ maxOpenSeconds: 60, algorithm: 'blake3' });
    expect(errorOf(() => checkPolicyOverride({ maxOpen: 60 })).message).toContain('policy.maxOpen is not a policy field');
    expect(errorOf(() => checkPolicyOverride({ retentionSeconds: -1 })).message).toContain('policy.retentionSeconds must be a positive number');
    expect(errorOf(() => checkPolicyOverride({ algorithm: 'md5' })).message).toContain('policy.algorithm must be');
  });

  test('parseConfig resolves relative paths against the config folder', () => {
    const raw = loadRaw();
    const config = parseConfig(raw, 'x', '/etc/ir');
    expect(config.evidenceDir).toBe('/etc/.evidence');
    expect(findVault(config, 'lab-vault').source.mountPath).toBe('/etc/.lab/prod-dd/data/col1/prod');
  });
});

function loadRaw(): any {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { parse } = require('yaml');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return parse(require('node:fs').readFileSync('config/lab.yaml', 'utf8'));
}
