/**
 * SSH transport and the DD exec driver against a minimal in-process ssh2 server (no lab): host-key
 * pinning (fingerprint and known_hosts, refused before auth), auth failure, unreachable, exec exit status,
 * `****` errors and confirmation prompts.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Server, type Connection } from 'ssh2';
import {
  AuthenticationError,
  connectSsh,
  DeviceCommandError,
  DeviceUnreachableError,
  endSsh,
  HostKeyMismatchError,
  UnknownHostKeyError,
  type SshTarget,
} from '../activities/drivers/ssh';
import { sha256Fingerprint } from '../activities/drivers/hostkey';
import { openDataDomain } from '../activities/drivers/datadomain/cli';
import { generateEd25519 } from '../lab/keys';

const hostKey = generateEd25519();
const otherKey = generateEd25519();
const pubBlob = (pub: string) => Buffer.from(pub.split(' ')[1], 'base64');
const FP = sha256Fingerprint(pubBlob(hostKey.public));
const OTHER_FP = sha256Fingerprint(pubBlob(otherKey.public));

let server: Server;
let port: number;
let authAttempts = 0;
const seen: string[] = [];

/** A DD-like exec server: a few commands with the contract's shapes. */
function handle(conn: Connection): void {
  conn.on('authentication', (ctx) => {
    authAttempts++;
    if (ctx.method === 'password' && ctx.username === 'sysadmin' && ctx.password === 'pw') return ctx.accept();
    return ctx.reject(['password']);
  });
  conn.on('ready', () => {
    conn.on('session', (accept) => {
      const session = accept();
      session.on('exec', (acc, _rej, info) => {
        const ch = acc();
        const cmd = info.command;
        seen.push(cmd);
        const done = (out: string, code = 0) => {
          ch.write(out);
          ch.exit(code);
          ch.end();
        };
        if (cmd === 'system show date') return done('Sun Nov 22 13:32:45 UTC 2026\n');
        if (cmd === 'replication status') {
          return done(
            [
              "CTX   Destination                                   Enabled   Connection     Sync'ed-as-of-time",
              '---   -------------------------------------------   -------   ------------   ------------------',
              '1     mtree://vault-dd.lab/data/col1/vault-prod     yes       connected      Sun Nov 22 13:32',
              '---   -------------------------------------------   -------   ------------   ------------------',
              '',
            ].join('\n'),
          );
        }
        if (cmd.startsWith('filesys destroy')) {
          ch.write('Do you want to proceed? (yes|no) [no]: ');
          let input = '';
          ch.on('data', (d: Buffer) => {
            input += d.toString();
            if (!input.includes('\n')) return;
            if (input.trim() === 'yes') done('\nFilesystem destroyed.\n');
            else done('\n**** Operation cancelled.\n', 1);
          });
          return;
        }
        if (cmd === 'exit-only') return done('something went wrong\n', 2);
        return done(`**** Unrecognized command "${cmd.split(' ')[0]}".\n`, 1);
      });
    });
  });
  conn.on('error', () => undefined);
}

beforeAll(async () => {
  server = new Server({ hostKeys: [hostKey.private] }, handle);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  await new Promise<void>((r) => server.close(() => r()));
});

const target = (over: Partial<SshTarget> = {}): SshTarget => ({
  host: '127.0.0.1',
  port,
  username: 'sysadmin',
  password: 'pw',
  hostKey: { fingerprint: FP },
  readyTimeoutMs: 5000,
  ...over,
});

describe('connectSsh', () => {
  test('pinned fingerprint: connects', async () => {
    const c = await connectSsh(target(), 'test-dd');
    await endSsh(c);
  });

  test('wrong fingerprint: HostKeyMismatchError before any authentication, with the fix', async () => {
    const before = authAttempts;
    const err = await connectSsh(target({ hostKey: { fingerprint: OTHER_FP } }), 'test-dd').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HostKeyMismatchError);
    const msg = (err as Error).message;
    expect(msg).toContain('test-dd');
    expect(msg).toContain(`127.0.0.1:${port}`);
    expect(msg).toContain(FP);
    expect(msg).toContain(OTHER_FP);
    expect(msg).toContain('ssh-keygen -lf');
    expect((err as HostKeyMismatchError).retryable).toBe(false);
    expect(authAttempts).toBe(before);
  });

  test('known_hosts: match, unknown host, mismatch', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'drv-ssh-'));
    try {
      const kh = join(dir, 'known_hosts');
      writeFileSync(kh, `[127.0.0.1]:${port} ${hostKey.public.split(' ').slice(0, 2).join(' ')}\n`);
      await endSsh(await connectSsh(target({ hostKey: { knownHostsFile: kh } }), 'test-dd'));

      writeFileSync(kh, `[127.0.0.1]:1 ${hostKey.public.split(' ').slice(0, 2).join(' ')}\n`);
      const before = authAttempts;
      const unknown = await connectSsh(target({ hostKey: { knownHostsFile: kh } }), 'test-dd').catch((e: unknown) => e);
      expect(unknown).toBeInstanceOf(UnknownHostKeyError);
      expect((unknown as Error).message).toMatch(new RegExp(`test-dd \\(127\\.0\\.0\\.1:${port}\\) presented host key ssh-ed25519 ${FP.replace(/[+/]/g, '\\$&')}`));
      expect(authAttempts).toBe(before);

      writeFileSync(kh, `[127.0.0.1]:${port} ${otherKey.public.split(' ').slice(0, 2).join(' ')}\n`);
      const mismatch = await connectSsh(target({ hostKey: { knownHostsFile: kh } }), 'test-dd').catch((e: unknown) => e);
      expect(mismatch).toBeInstanceOf(HostKeyMismatchError);
      expect((mismatch as Error).message).toContain(OTHER_FP);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('wrong password: AuthenticationError naming device and user, never the password', async () => {
    const err = await connectSsh(target({ password: 'hunter2-wrong' }), 'test-dd').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AuthenticationError);
    expect((err as Error).message).toContain('test-dd');
    expect((err as Error).message).toContain('"sysadmin"');
    expect((err as Error).message).not.toContain('hunter2');
    expect((err as AuthenticationError).retryable).toBe(false);
  });

  test('nothing listening: DeviceUnreachableError, retryable', async () => {
    const free = await new Promise<number>((r) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as AddressInfo).port;
        s.close(() => r(p));
      });
    });
    const err = await connectSsh(target({ port: free }), 'test-dd').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeviceUnreachableError);
    expect((err as Error).message).toContain('ECONNREFUSED');
    expect((err as DeviceUnreachableError).retryable).toBe(true);
  });
});

describe('DataDomainCli over exec', () => {
  test('parses, refuses unconfirmed prompts, carries **** errors and exit statuses', async () => {
    const dd = await openDataDomain({ ...target(), label: 'test-dd' });
    try {
      expect((await dd.systemDate()).now.toISOString()).toBe('2026-11-22T13:32:45.000Z');
      const rows = await dd.replicationStatus();
      expect(rows).toEqual([
        {
          ctx: 1,
          destination: 'mtree://vault-dd.lab/data/col1/vault-prod',
          enabled: true,
          connection: 'connected',
          syncedAsOf: new Date('2026-11-22T13:32:00Z'),
        },
      ]);

      const bad = await dd.run('frobnicate now').catch((e: unknown) => e);
      expect(bad).toBeInstanceOf(DeviceCommandError);
      expect((bad as Error).message).toBe('test-dd rejected `frobnicate now` (exit status 1): **** Unrecognized command "frobnicate".');
      expect((bad as DeviceCommandError).command).toBe('frobnicate now');

      const refused = await dd.run('filesys destroy').catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(DeviceCommandError);
      expect((refused as Error).message).toMatch(/asks for confirmation .*Do you want to proceed\? \(yes\|no\) \[no\]:.*refused/);
      expect(await dd.run('filesys destroy', { confirm: true })).toContain('Filesystem destroyed.');

      await expect(dd.run('exit-only')).rejects.toThrow('(exit status 2): something went wrong');
      await expect(dd.replicationEnable('mtree://x; rm -rf /')).rejects.toThrow(/not allowed in a DD CLI argument/);
      expect(seen.filter((c) => c.includes('rm -rf'))).toEqual([]);
    } finally {
      await dd.close();
    }
  });
});
