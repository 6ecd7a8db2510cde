/** Starts the lab's recovery host (lab/recovery-host.ts) on the lab's SSH server, with a host key of its own. */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { utils } from 'ssh2';
import type { Faults } from './faults';
import { fingerprint, generateEd25519 } from './keys';
import { recoveryHostDevice } from './recovery-host';
import { startSshDevice } from './ssh-server';

export interface RecoveryHostEndpoint {
  port: number;
  hostname: string;
  username: string;
  /** The lab client key is accepted (public-key login, as a rescue system set up for drills would). */
  privateKeyFile: string;
  fingerprint: string;
}

export async function startRecoveryHost(o: {
  dir: string;
  host: string;
  port: number;
  clientPublic: Buffer;
  clientKeyFile: string;
  faults: Faults;
  log: (line: string) => void;
}): Promise<{ endpoint: RecoveryHostEndpoint; publicKey: string; close(): Promise<void> }> {
  const keyFile = path.join(o.dir, 'hostkeys', 'recovery-host.key');
  if (!fs.existsSync(keyFile)) {
    const pair = generateEd25519('lab-recovery-host');
    fs.mkdirSync(path.dirname(keyFile), { recursive: true });
    fs.writeFileSync(keyFile, pair.private, { mode: 0o600 });
  }
  const priv = fs.readFileSync(keyFile);
  const parsed = utils.parseKey(priv);
  if (parsed instanceof Error) throw parsed;
  const hostname = 'vault-rec1';
  const dev = await startSshDevice({
    name: hostname,
    host: o.host,
    port: o.port,
    hostKey: priv,
    username: 'root',
    password: crypto.randomBytes(18).toString('base64url'), // never used: key login only
    clientPublic: o.clientPublic,
    crlf: false,
    handler: recoveryHostDevice({ hostname, faults: o.faults, unattended: true, log: o.log }),
    log: o.log,
  });
  return {
    endpoint: { port: dev.port, hostname, username: 'root', privateKeyFile: o.clientKeyFile, fingerprint: fingerprint(parsed.getPublicSSH()) },
    publicKey: `${parsed.type} ${parsed.getPublicSSH().toString('base64')}`,
    close: () => dev.close(),
  };
}
