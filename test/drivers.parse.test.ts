/**
 * Driver unit tests: pure parsers, host-key pinning, the CLI session engine against scripted fake devices
 * (one per platform), and lockFiles on a temp dir. No network, no lab.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  checkFingerprint,
  checkKnownHosts,
  hostFieldMatches,
  keyBlobType,
  normaliseFingerprint,
  parseKnownHosts,
  sha256Fingerprint,
} from '../activities/drivers/hostkey';
import { parseIosInterface, parseJunosTerse, parseNxosInterface } from '../activities/drivers/switch/ports';
import { PLATFORMS, promptLevel } from '../activities/drivers/switch/platforms';
import { cleanTerminalText, commandOutput, echoEnd, promptBase } from '../activities/drivers/switch/terminal';
import {
  ddErrorLines,
  parseDdTimeNoYear,
  parseDdTimeWithYear,
  parseDetailedStats,
  parseFastcopy,
  parseReplicationStatus,
  parseRetentionLockStatus,
  parseRetentionPeriod,
  parseRetentionReport,
  parseSystemDate,
  type DdClock,
} from '../activities/drivers/datadomain/parse';
import { lockFiles } from '../activities/drivers/datadomain/retention-mount';

// ---------------------------------------------------------------------------------------------------
// host keys

// Fixture made with ssh-keygen: an ed25519 host key, its fingerprint, and `ssh-keygen -H` of
// `[127.0.0.1]:2201 ssh-ed25519 …`.
const ED_B64 = 'AAAAC3NzaC1lZDI1NTE5AAAAIJwl74fYDBWa2PfNTNjY3Pe9oA4dX+3DivHNBkuIeFrS';
const ED_BLOB = Buffer.from(ED_B64, 'base64');
const ED_FP = 'SHA256:hVtqZez+Rn5muRuWHU08YQqaXUoplEGAv4YgZvUqcd8';
const HASHED_LINE = `|1|Lp9GjimR0c6h/lEnkN3+OgfanWE=|hbxXBCGpA4MPrhyGcyVAzBCIig8= ssh-ed25519 ${ED_B64}`;
const OTHER_BLOB = Buffer.concat([ED_BLOB.subarray(0, ED_BLOB.length - 1), Buffer.from([0])]);

// Under CI (.ci/run installs openssh-client) a missing ssh-keygen fails these tests instead of skipping them.
const hasSshKeygen = !!process.env.CI || spawnSync('ssh-keygen', ['-?'], { encoding: 'utf8' }).error === undefined;

describe('host key fingerprints', () => {
  test('SHA256 fingerprint of a key blob is OpenSSH\'s (unpadded base64)', () => {
    expect(sha256Fingerprint(ED_BLOB)).toBe(ED_FP);
    expect(keyBlobType(ED_BLOB)).toBe('ssh-ed25519');
  });

  (hasSshKeygen ? test : test.skip)('matches `ssh-keygen -lf` for fresh ed25519 and rsa keys', () => {
    const dir = mkdtempSync(join(tmpdir(), 'drv-kg-'));
    try {
      for (const [type, extra] of [['ed25519', []], ['rsa', ['-b', '2048']], ['ecdsa', []]] as const) {
        const f = join(dir, `k-${type}`);
        const gen = spawnSync('ssh-keygen', ['-q', '-t', type, ...extra, '-N', '', '-C', '', '-f', f], { encoding: 'utf8' });
        expect(gen.status).toBe(0);
        const lf = spawnSync('ssh-keygen', ['-lf', `${f}.pub`], { encoding: 'utf8' }).stdout;
        const want = lf.split(/\s+/)[1];
        const blob = Buffer.from(readFileSync(`${f}.pub`, 'utf8').split(/\s+/)[1], 'base64');
        expect(sha256Fingerprint(blob)).toBe(want);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('pins are normalised (prefix optional, padding dropped) and bad pins are refused', () => {
    expect(normaliseFingerprint(ED_FP.slice('SHA256:'.length))).toBe(ED_FP);
    expect(normaliseFingerprint(`${ED_FP}=`)).toBe(ED_FP);
    expect(() => normaliseFingerprint('MD5:aa:bb')).toThrow(/not an OpenSSH SHA256 fingerprint/);
    expect(checkFingerprint(ED_FP, ED_BLOB)).toEqual({ ok: true });
    expect(checkFingerprint(ED_FP, OTHER_BLOB)).toEqual({ ok: false, reason: 'mismatch', expected: [ED_FP] });
  });
});

describe('known_hosts', () => {
  test('host field forms: host, [host]:port, lists, wildcards, negation, hashed', () => {
    expect(hostFieldMatches('vault-sw1', 'vault-sw1', 22)).toBe(true);
    expect(hostFieldMatches('vault-sw1', 'vault-sw1', 2201)).toBe(false);
    expect(hostFieldMatches('[127.0.0.1]:2201', '127.0.0.1', 2201)).toBe(true);
    expect(hostFieldMatches('[127.0.0.1]:2201', '127.0.0.1', 2202)).toBe(false);
    expect(hostFieldMatches('a,b,[127.0.0.1]:2201', '127.0.0.1', 2201)).toBe(true);
    expect(hostFieldMatches('*.lab', 'vault-dd.lab', 22)).toBe(true);
    expect(hostFieldMatches('*.lab,!vault-dd.lab', 'vault-dd.lab', 22)).toBe(false);
    expect(hostFieldMatches(HASHED_LINE.split(' ')[0], '127.0.0.1', 2201)).toBe(true);
    expect(hostFieldMatches(HASHED_LINE.split(' ')[0], '127.0.0.1', 2202)).toBe(false);
  });

  test('verdicts: ok, unknown host, mismatch (names the pinned key), revoked; comments and markers', () => {
    const text = [
      '# comment',
      '',
      HASHED_LINE,
      `[127.0.0.1]:2202 ssh-ed25519 ${ED_B64} prod-dd`,
      `@cert-authority *.lab ssh-ed25519 ${OTHER_BLOB.toString('base64')}`,
      `@revoked [127.0.0.1]:2203 ssh-ed25519 ${OTHER_BLOB.toString('base64')}`,
      `[127.0.0.1]:2203 ssh-ed25519 ${ED_B64}`,
    ].join('\n');
    const entries = parseKnownHosts(text);
    expect(entries).toHaveLength(5); // @cert-authority is parsed but never pins a host key
    expect(checkKnownHosts(entries, '127.0.0.1', 2201, ED_BLOB)).toEqual({ ok: true });
    expect(checkKnownHosts(entries, '127.0.0.1', 2202, ED_BLOB)).toEqual({ ok: true });
    expect(checkKnownHosts(entries, '127.0.0.1', 2202, OTHER_BLOB)).toEqual({
      ok: false,
      reason: 'mismatch',
      expected: [`ssh-ed25519 ${ED_FP}`],
    });
    expect(checkKnownHosts(entries, '127.0.0.1', 2209, ED_BLOB)).toMatchObject({ ok: false, reason: 'unknown' });
    expect(checkKnownHosts(entries, '127.0.0.1', 2203, OTHER_BLOB)).toMatchObject({ ok: false, reason: 'revoked' });
  });

  (hasSshKeygen ? test : test.skip)('entries hashed by `ssh-keygen -H` match', () => {
    const dir = mkdtempSync(join(tmpdir(), 'drv-kh-'));
    try {
      const f = join(dir, 'known_hosts');
      writeFileSync(f, `[10.1.2.3]:830 ssh-ed25519 ${ED_B64}\nvault-dd.example ssh-ed25519 ${ED_B64}\n`);
      expect(spawnSync('ssh-keygen', ['-H', '-f', f], { encoding: 'utf8' }).status).toBe(0);
      const entries = parseKnownHosts(readFileSync(f, 'utf8'));
      expect(entries.every((e) => e.hosts.startsWith('|1|'))).toBe(true);
      expect(checkKnownHosts(entries, '10.1.2.3', 830, ED_BLOB)).toEqual({ ok: true });
      expect(checkKnownHosts(entries, 'vault-dd.example', 22, ED_BLOB)).toEqual({ ok: true });
      expect(checkKnownHosts(entries, '10.1.2.3', 22, ED_BLOB)).toMatchObject({ reason: 'unknown' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

// ---------------------------------------------------------------------------------------------------
// switch: terminal text, prompts, port state

describe('terminal text', () => {
  test('ANSI, CRLF, bare CR overwrite, backspace', () => {
    expect(cleanTerminalText('\x1b[1mshow\x1b[0m ver\r\r\nok\r\n')).toBe('show ver\nok\n');
    expect(cleanTerminalText(' --More-- \r          \rnext line')).toBe('next line '); // overwritten like a terminal does
    expect(cleanTerminalText('abx\bc')).toBe('abc');
  });

  test('echo and output extraction', () => {
    const text = 'show interfaces Gi1/0/1\nGigabitEthernet1/0/1 is up, line protocol is up\n  Hardware is\nvault-sw1#';
    const from = echoEnd(text, 'show interfaces Gi1/0/1');
    expect(commandOutput(text, from)).toBe('GigabitEthernet1/0/1 is up, line protocol is up\n  Hardware is');
    expect(echoEnd('stale\nvault-sw1#', 'show clock')).toBe(-1);
    expect(promptBase('vault-sw1(config-if)#')).toBe('vault-sw1');
    expect(promptBase('netops@sw1> ')).toBe('netops@sw1');
  });

  test('prompt levels per platform', () => {
    const ios = PLATFORMS['cisco-ios'];
    expect(promptLevel(ios, 'vault-sw1>')).toBe('exec');
    expect(promptLevel(ios, 'vault-sw1#')).toBe('privileged');
    expect(promptLevel(ios, 'vault-sw1(config)#')).toBe('configuration');
    expect(promptLevel(ios, 'vault-sw1(config-if)#')).toBe('configuration');
    expect(promptLevel(ios, 'GigabitEthernet1/0/1 is up, line protocol is up')).toBeUndefined();
    const nx = PLATFORMS['cisco-nxos'];
    expect(promptLevel(nx, 'n9k(config-if)#')).toBe('configuration');
    expect(promptLevel(nx, 'n9k(config-s)#')).toBeUndefined();
    const eos = PLATFORMS['arista-eos'];
    expect(promptLevel(eos, 'leaf 1(config-if-Et1)#')).toBe('configuration');
    expect(promptLevel(eos, 'leaf 1#')).toBe('privileged');
    const junos = PLATFORMS.junos;
    expect(promptLevel(junos, 'netops@vault-sw2>')).toBe('exec');
    expect(promptLevel(junos, 'netops@vault-sw2#')).toBe('configuration');
  });
});

describe('port state parsers', () => {
  test('IOS / EOS first line', () => {
    expect(parseIosInterface('Gi1/0/1', 'GigabitEthernet1/0/1 is up, line protocol is up\n  Hardware is Ten Gigabit')).toEqual({
      port: 'Gi1/0/1',
      admin: 'up',
      oper: 'up',
      line: 'GigabitEthernet1/0/1 is up, line protocol is up',
    });
    expect(parseIosInterface('Gi1/0/2', 'GigabitEthernet1/0/2 is administratively down, line protocol is down')).toMatchObject({
      admin: 'down',
      oper: 'down',
    });
    expect(parseIosInterface('Gi1/0/2', 'GigabitEthernet1/0/2 is up, line protocol is down (notconnect)')).toMatchObject({
      admin: 'up',
      oper: 'down',
    });
    expect(parseIosInterface('Gi1/0/3', 'GigabitEthernet1/0/3 is down, line protocol is down (err-disabled)')).toMatchObject({
      admin: 'up',
      oper: 'down',
    });
    expect(parseIosInterface('Ethernet1', 'Ethernet1 is up, line protocol is up (connected)')).toMatchObject({ admin: 'up', oper: 'up' });
    expect(() => parseIosInterface('Gi1/0/9', "% Invalid input detected at '^' marker.")).toThrow(/cannot read the state of Gi1\/0\/9/);
  });

  test('NX-OS', () => {
    expect(parseNxosInterface('Eth1/1', 'Ethernet1/1 is down (Administratively down)\nadmin state is down, Dedicated Interface')).toEqual({
      port: 'Eth1/1',
      admin: 'down',
      oper: 'down',
      line: 'Ethernet1/1 is down (Administratively down)',
    });
    expect(parseNxosInterface('Eth1/1', 'Ethernet1/1 is up\nadmin state is up, Dedicated Interface')).toMatchObject({ admin: 'up', oper: 'up' });
    expect(parseNxosInterface('Eth1/2', 'Ethernet1/2 is down (Link not connected)')).toMatchObject({ admin: 'up', oper: 'down' });
  });

  test('Junos terse', () => {
    const out = [
      'Interface               Admin Link Proto    Local                 Remote',
      'ge-0/0/1                down  down',
      'ge-0/0/1.0              up    down inet     10.0.0.1/24',
    ].join('\n');
    expect(parseJunosTerse('ge-0/0/1', out)).toEqual({ port: 'ge-0/0/1', admin: 'down', oper: 'down', line: 'ge-0/0/1                down  down' });
    expect(parseJunosTerse('xe-0/0/0', 'Interface Admin Link Proto\nxe-0/0/0 up up')).toMatchObject({ admin: 'up', oper: 'up' });
    expect(() => parseJunosTerse('ge-0/0/9', out)).toThrow();
  });
});

// ---------------------------------------------------------------------------------------------------
// Data Domain parsers

const clockAt = (iso: string, offsetMinutes = 0): DdClock => ({ now: new Date(iso), offsetMinutes });

describe('DD dates', () => {
  test('system show date', () => {
    const d = parseSystemDate('Sun Nov 22 13:32:45 UTC 2026\n');
    expect(d.now.toISOString()).toBe('2026-11-22T13:32:45.000Z');
    expect(d.zone).toBe('UTC');
    expect(d.offsetMinutes).toBe(0);
    // A named zone with no fixed meaning: offset from the device wall clock vs this host's clock.
    const cet = parseSystemDate('Sun Nov 22 14:32:45 CET 2026', new Date('2026-11-22T13:31:00Z'));
    expect(cet.offsetMinutes).toBe(60);
    expect(cet.now.toISOString()).toBe('2026-11-22T13:32:45.000Z');
    expect(parseSystemDate('Mon Jul 28 13:32:00 -0500 2025').now.toISOString()).toBe('2025-07-28T18:32:00.000Z');
    expect(() => parseSystemDate('**** error')).toThrow(/system show date/);
  });

  test('year resolution: latest such date not more than a day in the future', () => {
    const now = clockAt('2026-11-22T13:32:45Z');
    expect(parseDdTimeNoYear('Sun Nov 22 13:32', now)?.toISOString()).toBe('2026-11-22T13:32:00.000Z');
    expect(parseDdTimeNoYear('Mon Nov 23 10:00', now)?.toISOString()).toBe('2026-11-23T10:00:00.000Z'); // < 1 day ahead
    expect(parseDdTimeNoYear('Fri Dec 25 10:00', now)?.toISOString()).toBe('2025-12-25T10:00:00.000Z'); // last year
    expect(parseDdTimeNoYear('-', now)).toBeNull();
    // New Year: device says Jan 1, a sync on Dec 31 is last year.
    expect(parseDdTimeNoYear('Wed Dec 31 23:59', clockAt('2027-01-01T00:05:00Z'))?.toISOString()).toBe('2026-12-31T23:59:00.000Z');
    // Feb 29 resolves to the last leap year.
    expect(parseDdTimeNoYear('Thu Feb 29 12:00', clockAt('2026-03-01T00:00:00Z'))?.toISOString()).toBe('2024-02-29T12:00:00.000Z');
    // Local time east of UTC.
    expect(parseDdTimeNoYear('Sun Nov 22 14:32', clockAt('2026-11-22T13:32:45Z', 60))?.toISOString()).toBe('2026-11-22T13:32:00.000Z');
    expect(parseDdTimeWithYear('Sun Nov 29 13:30:00 2026', 0).toISOString()).toBe('2026-11-29T13:30:00.000Z');
    // ctime-style space-padded day.
    expect(parseDdTimeNoYear('Mon Nov  2 09:05', now)?.toISOString()).toBe('2026-11-02T09:05:00.000Z');
    expect(parseDdTimeWithYear('Mon Nov  2 09:05:07 2026', 0).toISOString()).toBe('2026-11-02T09:05:07.000Z');
    expect(parseSystemDate('Mon Nov  2 09:05:07 UTC 2026').now.toISOString()).toBe('2026-11-02T09:05:07.000Z');
  });

  test('retention periods', () => {
    expect(parseRetentionPeriod('720minutes')).toBe(720 * 60);
    expect(parseRetentionPeriod('1minutes')).toBe(60);
    expect(parseRetentionPeriod('12hours')).toBe(12 * 3600);
    expect(parseRetentionPeriod('7days')).toBe(7 * 86400);
    expect(parseRetentionPeriod('1827days')).toBe(1827 * 86400);
    expect(parseRetentionPeriod('720min')).toBe(720 * 60);
    expect(parseRetentionPeriod('6day')).toBe(6 * 86400);
    expect(parseRetentionPeriod('not set')).toBeNull();
    expect(() => parseRetentionPeriod('7fortnights')).toThrow();
  });
});

describe('DD replication output', () => {
  const now = clockAt('2026-11-22T13:40:00Z');

  test('replication status table (contract shape and KB shape)', () => {
    const out = [
      "CTX   Destination                                   Enabled   Connection     Sync'ed-as-of-time",
      '---   -------------------------------------------   -------   ------------   ------------------',
      '1     mtree://vault-dd.lab/data/col1/vault-prod     yes       connected      Sun Nov 22 13:32',
      '2     mtree://vault-dd.lab/data/col1/other          no        disconnected   -',
      '3     mtree://vault-dd.lab/data/col1/third          yes       idle           Mon Nov  2 09:05',
      '---   -------------------------------------------   -------   ------------   ------------------',
    ].join('\n');
    expect(parseReplicationStatus(out, now)).toEqual([
      {
        ctx: 1,
        destination: 'mtree://vault-dd.lab/data/col1/vault-prod',
        enabled: true,
        connection: 'connected',
        syncedAsOf: new Date('2026-11-22T13:32:00Z'),
      },
      { ctx: 2, destination: 'mtree://vault-dd.lab/data/col1/other', enabled: false, connection: 'disconnected', syncedAsOf: null },
      { ctx: 3, destination: 'mtree://vault-dd.lab/data/col1/third', enabled: true, connection: 'idle', syncedAsOf: new Date('2026-11-02T09:05:00Z') },
    ]);
    const kb = [
      "CTX   Destination                              Enabled   Connection     Sync'ed-as-of-time",
      '---   --------------------------------------   -------   ------------   ------------------',
      '0     col://test.datadomain.com                yes       Connected      Mon Jul 28 13:32',
      '---   ...',
    ].join('\n');
    expect(parseReplicationStatus(kb, now)[0]).toMatchObject({ ctx: 0, connection: 'connected', syncedAsOf: new Date('2026-07-28T13:32:00Z') });
    expect(() => parseReplicationStatus('garbage', now)).toThrow(/header/);
  });

  test('detailed-stats key/values with comma-grouped numbers', () => {
    const out = [
      'Destination:                    mtree://vault-dd.lab/data/col1/vault-prod',
      'Source:                         mtree://prod-dd.lab/data/col1/prod',
      'State:                          normal',
      'Enabled:                        yes',
      'Connection:                     connected',
      'Pre-compressed bytes remaining: 1,234,567',
      'Files remaining:                12',
      'Synced as of time:              Sun Nov 22 13:32',
      'Current throughput (KB/s):      51,200',
    ].join('\n');
    expect(parseDetailedStats(out, now)).toEqual({
      destination: 'mtree://vault-dd.lab/data/col1/vault-prod',
      source: 'mtree://prod-dd.lab/data/col1/prod',
      state: 'normal',
      enabled: true,
      connection: 'connected',
      bytesRemaining: 1234567,
      filesRemaining: 12,
      syncedAsOf: new Date('2026-11-22T13:32:00Z'),
      throughputKBps: 51200,
    });
    const never = out.replace('Sun Nov 22 13:32', '-').replace('State:                          normal', 'State: disabled');
    expect(parseDetailedStats(never, now)).toMatchObject({ syncedAsOf: null, state: 'disabled' });
    expect(() => parseDetailedStats('Destination: x', now)).toThrow(/Source/);
  });
});

describe('DD retention lock output', () => {
  test('retention-lock status', () => {
    const out = [
      'Retention-lock                            enabled',
      'Retention-lock mode                       governance',
      'Retention-lock min-retention-period       720minutes',
      'Retention-lock max-retention-period       1827days',
      'Retention-lock automatic-retention-period not set',
    ].join('\n');
    expect(parseRetentionLockStatus(out)).toMatchObject({ enabled: true, mode: 'governance', minSeconds: 43200, maxSeconds: 1827 * 86400 });
    expect(parseRetentionLockStatus(out).options['automatic-retention-period']).toBe('not set');
    expect(parseRetentionLockStatus('Retention-lock   disabled')).toMatchObject({ enabled: false, mode: 'none', minSeconds: 0 });
    expect(parseRetentionLockStatus('Retention-lock   never enabled')).toMatchObject({ enabled: false });
    expect(() => parseRetentionLockStatus('**** nope')).toThrow();
  });

  test('retention report, with a path containing spaces, and Total files check', () => {
    const out = [
      'Report for mtree: /data/col1/ir-copies',
      'File Path  Mode  Size(Bytes)  Expiration Date',
      '/data/col1/ir-copies/c1/a.bin governance 1024 Sun Nov 29 13:30:00 2026',
      '/data/col1/ir-copies/c1/dir with space/b.bin governance 2,048 Mon Nov 30 01:02:03 2026',
      'Total files: 2',
    ].join('\n');
    expect(parseRetentionReport(out, 0)).toEqual([
      { path: '/data/col1/ir-copies/c1/a.bin', mode: 'governance', size: 1024, expires: new Date('2026-11-29T13:30:00Z') },
      { path: '/data/col1/ir-copies/c1/dir with space/b.bin', mode: 'governance', size: 2048, expires: new Date('2026-11-30T01:02:03Z') },
    ]);
    expect(parseRetentionReport('Report for mtree: /x\nFile Path  Mode  Size(Bytes)  Expiration Date\nTotal files: 0', 0)).toEqual([]);
    expect(() => parseRetentionReport(out.replace('Total files: 2', 'Total files: 3'), 0)).toThrow(/Total files: 3/);
    expect(parseFastcopy('Fastcopy completed: 61 files.')).toBe(61);
    expect(ddErrorLines('**** Unrecognized command "x".\nDo you want to proceed? (yes|no) [no]: **** Operation cancelled.\nok **** no')).toEqual([
      '**** Unrecognized command "x".',
      '**** Operation cancelled.',
      '**** no',
    ]);
  });
});

// ---------------------------------------------------------------------------------------------------
// lockFiles

describe('lockFiles over a mount path', () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'drv-lock-'));
    mkdirSync(join(root, 'c1', 'sub'), { recursive: true });
    writeFileSync(join(root, 'c1', 'a.bin'), Buffer.alloc(100));
    writeFileSync(join(root, 'c1', 'sub', 'b.bin'), Buffer.alloc(50));
    symlinkSync('a.bin', join(root, 'c1', 'link'));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  test('sets atime to until, keeps mtime, never shortens, skips symlinks', async () => {
    const mtime = new Date('2024-01-02T03:04:05Z');
    utimesSync(join(root, 'c1', 'a.bin'), new Date('2024-01-01T00:00:00Z'), mtime);
    const later = new Date('2031-01-01T00:00:00Z');
    utimesSync(join(root, 'c1', 'sub', 'b.bin'), later, mtime); // already locked longer
    const until = new Date('2030-06-01T12:00:00Z');
    const progress: unknown[] = [];
    const r = await lockFiles(join(root, 'c1'), until, (p) => progress.push(p));
    expect(r).toEqual({ locked: 1, alreadyLonger: 1, resumed: 0, bytes: 150, files: ['a.bin', 'sub/b.bin'], skipped: ['link'] });
    expect(progress.at(-1)).toEqual({ done: 2, total: 2, locked: 1, alreadyLonger: 1, checkpoint: { settled: 2, lastFile: 'sub/b.bin', bytes: 150 } });
    const a = statSync(join(root, 'c1', 'a.bin'));
    expect(a.atime.toISOString()).toBe(until.toISOString());
    expect(a.mtime.toISOString()).toBe(mtime.toISOString());
    expect(statSync(join(root, 'c1', 'sub', 'b.bin')).atime.toISOString()).toBe(later.toISOString());
    // Idempotent: a second run changes nothing.
    expect(await lockFiles(join(root, 'c1'), 'walk', until)).toMatchObject({ locked: 0, alreadyLonger: 2 });
  });

  test('resumes from a checkpoint: the settled files are not touched again, the rest is locked, a foreign checkpoint is ignored', async () => {
    for (let i = 0; i < 40; i++) writeFileSync(join(root, 'c1', `f${String(i).padStart(2, '0')}.bin`), Buffer.alloc(10));
    const until = new Date(Date.now() + 3600_000);
    // A first attempt that died: its last checkpoint settled the first 10 files of the sorted list (and it did
    // lock them); the rest is untouched.
    const first = await lockFiles(join(root, 'c1'), until);
    const all = first.files;
    const back = new Date('2024-01-01T00:00:00Z');
    for (const f of all.slice(10)) utimesSync(join(root, 'c1', f), back, back); // as if never locked
    const settled = { settled: 10, lastFile: all[9], bytes: all.slice(0, 10).reduce((n, f) => n + statSync(join(root, 'c1', f)).size, 0) };
    const progress: Array<{ checkpoint: { settled: number } }> = [];
    const r = await lockFiles(join(root, 'c1'), until, { resume: settled, onProgress: (p) => progress.push(p) });
    expect(r).toMatchObject({ resumed: 10, locked: all.length - 10, alreadyLonger: 0, files: all });
    expect(r.bytes).toBe(first.bytes);
    expect(progress.at(-1)?.checkpoint).toEqual({ settled: all.length, lastFile: all.at(-1), bytes: first.bytes });
    for (const f of all) expect(statSync(join(root, 'c1', f)).atime.getTime()).toBe(until.getTime());
    // A checkpoint of another list (the last settled file is not where it says) is ignored: every file is looked at.
    const foreign = await lockFiles(join(root, 'c1'), until, { resume: { settled: 10, lastFile: 'elsewhere.bin', bytes: 100 } });
    expect(foreign).toMatchObject({ resumed: 0, locked: 0, alreadyLonger: all.length });
  });

  test('explicit relative paths; paths escaping the root are refused', async () => {
    const until = new Date(Date.now() + 3600_000);
    expect(await lockFiles(root, ['c1/a.bin'], until)).toMatchObject({ locked: 1, files: ['c1/a.bin'] });
    await expect(lockFiles(root, ['../etc/passwd'], until)).rejects.toThrow(/not a file path inside/);
    await expect(lockFiles(root, ['/etc/passwd'], until)).rejects.toThrow(/not a file path inside/);
    await expect(lockFiles(root, ['c1/missing'], until)).rejects.toThrow(/ENOENT/);
  });
});
