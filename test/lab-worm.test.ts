/**
 * The lab's copies mount behaves like WORM storage (lab/worm.ts): a lock the lab accepted makes the file
 * immutable to anything using the mount path, until the lock expires; the tamper switch on the control API
 * lifts the guard and puts it back; the retention report keeps a locked file it once accepted.
 */
import { execFileSync } from 'node:child_process';
import { appendFileSync, mkdirSync, mkdtempSync, rmSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLab, type Lab } from '../lab';

jest.setTimeout(60_000);

let dir: string;
let lab: Lab;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ir-lab-worm-'));
  lab = await startLab({ dir, ports: { switch: 0, sourceDd: 0, vaultDd: 0, control: 0 }, seed: { files: 5, totalBytes: 64 * 1024 }, retention: { minSeconds: 1, maxSeconds: 3600 } });
});
afterAll(async () => {
  await lab?.close();
  rmSync(dir, { recursive: true, force: true }); // the lab lifted every attribute on close: its folder is removable
});

/** The file's attribute flags as `lsattr` prints them (`i`: immutable). */
const lsattr = (f: string) => execFileSync('lsattr', [f], { encoding: 'utf8' }).split(' ')[0];

function lockedFile(name: string, seconds: number): string {
  const copies = lab.endpoints.vaultDd.copiesMountPath;
  mkdirSync(join(copies, 'c1'), { recursive: true });
  const f = join(copies, 'c1', name);
  writeFileSync(f, 'data');
  utimesSync(f, new Date(Date.now() + seconds * 1000), new Date());
  expect(lab.lockOf(`c1/${name}`).locked).toBe(true);
  return f;
}

test('the lab runs as root on a filesystem with the immutable attribute, and says so', () => {
  expect(lab.endpoints.worm).toEqual({ immutable: true });
});

test('a locked file refuses changes through the mount path until its lock expires, then accepts them', async () => {
  const f = lockedFile('short.bin', 2);
  const lockedAt = Date.now();
  expect(() => appendFileSync(f, 'x')).toThrow(/EPERM/);
  expect(() => unlinkSync(f)).toThrow(/EPERM/);
  // Expiry, then the lab's one-second sweep lifts the guard: poll for it rather than sleep the worst case.
  while (lab.lockOf('c1/short.bin').locked || lsattr(f).includes('i')) {
    if (Date.now() - lockedAt > 6000) throw new Error('the lock was not lifted within 6 s of a 2 s lock');
    await new Promise((r) => setTimeout(r, 100));
  }
  expect(Date.now() - lockedAt).toBeGreaterThanOrEqual(1900); // not before the lock expired
  appendFileSync(f, 'x');
  unlinkSync(f);
});

test('a lock that expired while its lab was down (SIGKILLed: nothing lifted it) is lifted when the lab starts again', async () => {
  const d = mkdtempSync(join(tmpdir(), 'ir-lab-worm-restart-'));
  const opts = { dir: d, ports: { switch: 0, sourceDd: 0, vaultDd: 0, control: 0 }, seed: { files: 2, totalBytes: 8 * 1024 }, retention: { minSeconds: 1, maxSeconds: 3600 } };
  let again: Lab | undefined;
  try {
    const first = await startLab(opts);
    const copies = first.endpoints.vaultDd.copiesMountPath;
    mkdirSync(join(copies, 'c1'), { recursive: true });
    const f = join(copies, 'c1', 'left.bin');
    writeFileSync(f, 'data');
    utimesSync(f, new Date(Date.now() + 2000), new Date());
    expect(first.lockOf('c1/left.bin').locked).toBe(true);
    await first.close(); // lifts every attribute: put back what a killed lab leaves behind
    execFileSync('chattr', ['+i', f]);
    await new Promise((r) => setTimeout(r, 2500)); // the lock runs out while no lab runs
    again = await startLab(opts);
    const startedAt = Date.now();
    while (lsattr(f).includes('i')) {
      if (Date.now() - startedAt > 3000) throw new Error(`the expired lock's attribute is still on 3 s after the lab started: ${lsattr(f)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(again.lockOf('c1/left.bin').locked).toBe(false);
    unlinkSync(f);
  } finally {
    await again?.close();
    rmSync(d, { recursive: true, force: true });
  }
});

test('the tamper switch lifts and restores the guard; the report keeps a deleted locked file', async () => {
  const f = lockedFile('long.bin', 600);
  const post = (on: boolean) => fetch(`${lab.endpoints.control}/tamper`, { method: 'POST', body: JSON.stringify({ on }) });
  expect((await post(true)).status).toBe(200);
  appendFileSync(f, 'x');
  expect((await post(false)).status).toBe(200);
  expect(() => appendFileSync(f, 'y')).toThrow(/EPERM/);
  await post(true);
  unlinkSync(f);
  await post(false);
  const state = (await fetch(`${lab.endpoints.control}/state`).then((r) => r.json())) as { locks: Array<{ path: string }>; worm: { tamper: boolean } };
  expect(state.worm.tamper).toBe(false);
  expect(state.locks.map((l) => l.path)).toContain('/data/col1/ir-copies/c1/long.bin');
  expect((await fetch(`${lab.endpoints.control}/tamper`, { method: 'POST', body: '{"on":"yes"}' })).status).toBe(400);
});
