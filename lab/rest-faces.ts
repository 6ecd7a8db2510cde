/**
 * The lab's HTTPS faces, started beside the SSH devices: the vault DD's REST API over the same retention
 * state as its CLI, and the backup software of production (a Bareos Director's REST API and a NetWorker
 * server's REST API) with jobs on a timeline. Each has its own self-signed certificate, pinned by
 * fingerprint in endpoints.json; the control API gets routes to run jobs now (also one that never finishes),
 * reload the Bareos Director and fill the vault.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { startBareos } from './backup/bareos';
import { startNetWorker } from './backup/networker';
import { BackupTimeline, type JobDef } from './backup/timeline';
import type { DdExtras } from './dd-everyday';
import type { MtreeDef } from './mtrees';
import { startDdRest } from './dd-rest';
import type { Faults } from './faults';
import type { RestFace } from './rest-server';
import type { RetentionLock } from './retention';
import { ensureCert } from './tls';

export interface RestFacesOptions {
  dir: string;
  host: string;
  ports?: { ddRest?: number; bareos?: number; networker?: number };
  faults: Faults;
  ddUsername: string;
  ddPassword: string;
  vaultMtrees: MtreeDef[];
  retention: RetentionLock;
  vaultExtras: DdExtras;
  /** Job timelines; the defaults run the protected job every 20 s for 3 s (every 4th run fails). */
  bareosJobs?: JobDef[];
  networkerJobs?: JobDef[];
  tokenTtlMs?: number;
  log: (line: string) => void;
}

export interface HttpsEndpoint {
  url: string;
  certFile: string;
  fingerprint: string;
  username: string;
  passwordFile: string;
}

export interface RestEndpoints {
  vaultDdRest: HttpsEndpoint;
  bareos: HttpsEndpoint & { protects: string[]; jobs: string[]; schedules: string[] };
  networker: HttpsEndpoint & { protects: string[]; workflows: Array<{ policy: string; workflow: string }> };
}

export interface RestFaces {
  endpoints: RestEndpoints;
  ddRest: RestFace & { sessions(): number };
  bareos: RestFace & { sessions(): number };
  networker: RestFace;
  timelines: { bareos: BackupTimeline; networker: BackupTimeline };
  route(method: string, p: string, body: () => Promise<unknown>): Promise<unknown> | undefined;
  close(): Promise<void>;
}

export const DEFAULT_REST_PORTS = { ddRest: 2205, bareos: 2206, networker: 2207 }; // 2204 is the recovery host

function ensureSecret(file: string): string {
  if (!fs.existsSync(file)) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, crypto.randomBytes(18).toString('base64url'), { mode: 0o600 });
  }
  return fs.readFileSync(file, 'utf8').trim();
}

/**
 * The REST faces' self-signed certificates (and their pins, `tls/<name>.sha256`), made once per lab folder. The
 * demo makes them before it reads a config that pins them.
 */
export function ensureRestCerts(dir: string) {
  return { dd: ensureCert(dir, 'vault-dd-rest', 'vault-dd.lab'), bareos: ensureCert(dir, 'bareos', 'bareos-dir.lab'), nw: ensureCert(dir, 'networker', 'nw-server.lab') };
}

export async function startRestFaces(o: RestFacesOptions): Promise<RestFaces> {
  const want = { ...DEFAULT_REST_PORTS, ...o.ports };
  const certs = ensureRestCerts(o.dir);
  const files = { bareos: path.join(o.dir, 'secrets', 'bareos-password'), networker: path.join(o.dir, 'secrets', 'networker-password') };
  const pw = { bareos: ensureSecret(files.bareos), networker: ensureSecret(files.networker) };
  const bareosJobs = o.bareosJobs ?? [
    { name: 'backup-prod-fs', client: 'prod-fs-fd', trigger: 'NightlyProd', everyMs: 20_000, durationMs: 3_000, failEvery: 4 },
    { name: 'backup-catalog', client: 'bareos-fd', trigger: 'AfterProd', everyMs: 45_000, durationMs: 2_000 },
  ];
  const networkerJobs = o.networkerJobs ?? [{ name: 'prod-fs', client: 'prod-fs.lab', trigger: 'Gold/prod-fs', everyMs: 20_000, durationMs: 3_000, failEvery: 4 }];
  const timelines = { bareos: new BackupTimeline(bareosJobs, o.log, 'bareos-dir'), networker: new BackupTimeline(networkerJobs, o.log, 'nw-server') };
  const started: Array<{ close(): Promise<void> }> = [];
  const close = async () => {
    timelines.bareos.stop();
    timelines.networker.stop();
    for (const s of started.reverse()) await s.close().catch(() => undefined);
  };
  try {
    const ddRest = await startDdRest({ host: o.host, port: want.ddRest, cert: certs.dd, faults: o.faults, username: o.ddUsername, password: o.ddPassword, mtrees: o.vaultMtrees, retention: o.retention, tokenTtlMs: o.tokenTtlMs, log: o.log });
    started.push(ddRest);
    const bareos = await startBareos({ host: o.host, port: want.bareos, cert: certs.bareos, faults: o.faults, username: 'ir-console', password: pw.bareos, timeline: timelines.bareos, tokenTtlMs: o.tokenTtlMs, log: o.log });
    started.push(bareos);
    const networker = await startNetWorker({ host: o.host, port: want.networker, cert: certs.nw, faults: o.faults, username: 'ir-operator', password: pw.networker, timeline: timelines.networker, log: o.log });
    started.push(networker);
    timelines.bareos.start();
    timelines.networker.start();
    const ep = (face: RestFace, cert: { certFile: string; fingerprint: string }, username: string, passwordFile: string): HttpsEndpoint => ({ url: face.url, certFile: cert.certFile, fingerprint: cert.fingerprint, username, passwordFile });
    const protectedOf = (jobs: JobDef[]) => jobs.filter((j) => j.client.startsWith('prod')).map((j) => j.name);
    const endpoints: RestEndpoints = {
      vaultDdRest: ep(ddRest, certs.dd, o.ddUsername, path.join(o.dir, 'secrets', 'dd-password')),
      bareos: { ...ep(bareos, certs.bareos, 'ir-console', files.bareos), protects: protectedOf(bareosJobs), jobs: protectedOf(bareosJobs), schedules: [] },
      networker: {
        ...ep(networker, certs.nw, 'ir-operator', files.networker),
        protects: protectedOf(networkerJobs),
        workflows: [...new Set(networkerJobs.filter((j) => j.client.startsWith('prod')).map((j) => j.trigger))].map((t) => ({ policy: t.split('/')[0], workflow: t.split('/')[1] })),
      },
    };
    const route = (method: string, p: string, body: () => Promise<unknown>): Promise<unknown> | undefined => {
      let m: RegExpExecArray | null;
      if (method === 'POST' && (m = /^\/backup\/(bareos|networker)\/jobs\/([^/]+)\/run$/.exec(p))) {
        const tl = timelines[m[1] as 'bareos' | 'networker'];
        const name = decodeURIComponent(m[2]);
        return body().then((b) => {
          const opts = (b ?? {}) as { durationMs?: number; outcome?: 'ok' | 'failed' | 'hang' };
          const run = tl.runNow(name, opts);
          return { id: run.id, name: run.name, durationMs: Number.isFinite(run.durationMs) ? run.durationMs : null };
        });
      }
      if (method === 'POST' && p === '/backup/bareos/reload') {
        timelines.bareos.reload();
        return Promise.resolve({ ok: true, reloads: timelines.bareos.reloads });
      }
      if (method === 'GET' && (m = /^\/backup\/(bareos|networker)$/.exec(p))) {
        const tl = timelines[m[1] as 'bareos' | 'networker'];
        return Promise.resolve({
          runs: tl.runs.map((r) => ({ ...r, durationMs: Number.isFinite(r.durationMs) ? r.durationMs : null })),
          jobs: tl.defs.map((d) => ({ name: d.name, trigger: d.trigger, jobEnabled: tl.isJobEnabled(d.name), triggerEnabled: tl.isTriggerEnabled(d.trigger) })),
        });
      }
      if (method === 'POST' && p === '/vault-dd/full') {
        return body().then((b) => {
          o.vaultExtras.full = (b as { full?: unknown })?.full !== false;
          o.log(`vault-dd: file system ${o.vaultExtras.full ? 'full' : 'has space again'}`);
          return { full: o.vaultExtras.full };
        });
      }
      return undefined;
    };
    return { endpoints, ddRest, bareos, networker, timelines, route, close };
  } catch (err) {
    await close();
    throw err;
  }
}
