/**
 * Secrets hygiene: a secret or private-key file that group or others can open is refused with the file and the fix
 * (`chmod 600`), and the error never carries the secret; a 0600 file is read. Real files, real modes.
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, readPrivateFile, resolveSecret } from '../config/load';

describe('secret files must be private to the worker', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ir-secrets-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test.each([0o644, 0o640, 0o604, 0o660, 0o606])('mode %o is refused naming the file and chmod 600', (mode) => {
    const file = join(dir, `pw-${mode.toString(8)}`);
    writeFileSync(file, 'hunter2-secret\n');
    chmodSync(file, mode);
    const err = (() => {
      try {
        resolveSecret({ file }, 'vault v1 switch password');
      } catch (e) {
        return e as Error;
      }
      throw new Error('a group/other-readable secret file was accepted');
    })();
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toBe(`vault v1 switch password: secret file ${file} is open to group or others (mode ${mode.toString(8)}); run \`chmod 600 ${file}\``);
    expect(err.message).not.toContain('hunter2');
  });

  test('a 0600 (or 0400) file is read, its trailing newline dropped', () => {
    const file = join(dir, 'pw-ok');
    writeFileSync(file, 'hunter2-secret\n', { mode: 0o600 });
    expect(resolveSecret({ file }, 'x')).toBe('hunter2-secret');
    chmodSync(file, 0o400);
    expect(readPrivateFile(file, 'x')).toBe('hunter2-secret\n');
  });

  test('a missing file names the reference, not a mode', () => {
    expect(() => resolveSecret({ file: join(dir, 'nope') }, 'vault v1 DD password')).toThrow(`vault v1 DD password: cannot read secret file ${join(dir, 'nope')}: ENOENT`);
  });
});
