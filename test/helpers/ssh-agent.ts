/**
 * A real OpenSSH agent for the signing tests: `ssh-agent -D -a SOCK` as a child of the test (stopped by its pid),
 * keys added with `ssh-add`, a passphrase fed the way a desktop session feeds it (an askpass script, test only).
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface SshAgent {
  sock: string;
  /** ssh-add KEY (its passphrase, if any, through SSH_ASKPASS). */
  add(keyFile: string, passphrase?: string): void;
  stop(): void;
}

export async function startSshAgent(dir: string): Promise<SshAgent> {
  const sock = join(dir, 'agent.sock');
  const agent = spawn('ssh-agent', ['-D', '-a', sock], { stdio: 'ignore' });
  for (let i = 0; i < 50 && !existsSync(sock); i++) await new Promise((r) => setTimeout(r, 100));
  if (!existsSync(sock)) {
    agent.kill();
    throw new Error(`ssh-agent did not open ${sock}`);
  }
  return {
    sock,
    add(keyFile, passphrase = '') {
      const askpass = join(dir, 'askpass.sh');
      writeFileSync(askpass, `#!/bin/sh\necho '${passphrase.replace(/'/g, `'\\''`)}'\n`, { mode: 0o700 });
      execFileSync('ssh-add', [keyFile], { env: { ...process.env, SSH_AUTH_SOCK: sock, SSH_ASKPASS: askpass, SSH_ASKPASS_REQUIRE: 'force' }, stdio: ['ignore', 'pipe', 'pipe'] });
    },
    stop: () => void agent.kill(),
  };
}

/** Puts a passphrase on a key made without one (test/helpers/ssh-sign.ts makeKey): `ssh-keygen -p`. */
export function protectKey(keyFile: string, passphrase: string): void {
  execFileSync('ssh-keygen', ['-q', '-p', '-P', '', '-N', passphrase, '-f', keyFile], { stdio: ['ignore', 'pipe', 'pipe'] });
}
