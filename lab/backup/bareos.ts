/**
 * Bareos REST API simulator (the experimental FastAPI `bareos_restapi`): OAuth2 password login at
 * `POST /token` (form fields) → bearer JWT-like token, expiring like the real one (30 min by default);
 * `GET /control/jobs` (query `job`, `client`, `jobstatus`) → `{totalItems, jobs:[…]}` with Bareos jobstatus
 * codes (R running, T terminated ok, E error, A cancelled); `GET /control/jobs/{id}`;
 * `PUT /control/jobs/{enable|disable}/{job}` and `PUT /control/schedules/{enable|disable}/{schedule}` → 204;
 * `GET /configuration/{jobs|schedules}/{name}` with the runtime `enabled` flag [shape unconfirmed].
 * A Director reload (control API) resets every disable, as it does in Bareos.
 */
import type { Faults } from '../faults';
import { newToken, RestError, startRestFace, type RestFace, type RestRequest } from '../rest-server';
import type { LabCert } from '../tls';
import type { BackupTimeline, JobRun } from './timeline';

export interface BareosOptions {
  host: string;
  port: number;
  cert: LabCert;
  faults: Faults;
  username: string;
  password: string;
  timeline: BackupTimeline;
  tokenTtlMs?: number;
  log: (line: string) => void;
}

const STATUS: Record<JobRun['state'], string> = { running: 'R', ok: 'T', failed: 'E', cancelled: 'A' };
const stamp = (d: Date | null) => (d ? d.toISOString().replace('T', ' ').slice(0, 19) : null);

export function bareosJob(r: JobRun) {
  return {
    jobid: String(r.id),
    job: `${r.name}.${r.startedAt.toISOString().replace(/[-:]/g, '').slice(0, 15)}_${r.id}`,
    name: r.name,
    type: 'B',
    level: 'I',
    clientname: r.client,
    jobstatus: STATUS[r.state],
    schedtime: stamp(r.startedAt),
    starttime: stamp(r.startedAt),
    endtime: stamp(r.endedAt),
    jobfiles: r.state === 'ok' ? '120' : '0',
    jobbytes: r.state === 'ok' ? '52428800' : '0',
  };
}

export async function startBareos(o: BareosOptions): Promise<RestFace & { sessions(): number }> {
  const ttl = o.tokenTtlMs ?? 30 * 60_000;
  const tokens = new Map<string, number>(); // token → expiry
  const authed = (r: RestRequest) => {
    const m = /^Bearer (.+)$/.exec(String(r.headers.authorization ?? ''));
    const exp = m ? tokens.get(m[1]) : undefined;
    if (exp === undefined || exp < Date.now()) {
      if (m) tokens.delete(m[1]);
      throw new RestError(401, { detail: 'Could not validate credentials' });
    }
  };
  const tl = o.timeline;
  const face = await startRestFace({
    name: 'bareos REST',
    device: 'bareos',
    host: o.host,
    port: o.port,
    cert: o.cert,
    faults: o.faults,
    log: o.log,
    dropToken: (r) => tokens.delete(String(r.headers.authorization ?? '').replace(/^Bearer /, '')),
    handler: (r) => {
      if (r.method === 'POST' && r.path === '/token') {
        const b = (r.body ?? {}) as Record<string, string>;
        if (b.username !== o.username || b.password !== o.password) throw new RestError(401, { detail: 'Incorrect username or password' });
        const token = newToken();
        tokens.set(token, Date.now() + ttl);
        return { body: { access_token: token, token_type: 'bearer' } };
      }
      authed(r);
      let m: RegExpExecArray | null;
      if (r.method === 'GET' && r.path === '/control/jobs') {
        const q = r.query;
        const jobs = tl.runs
          .filter((j) => (!q.get('job') || j.name === q.get('job')) && (!q.get('client') || j.client === q.get('client')))
          .map(bareosJob)
          .filter((j) => !q.get('jobstatus') || j.jobstatus === q.get('jobstatus'));
        return { body: { totalItems: jobs.length, jobs } };
      }
      if (r.method === 'GET' && (m = /^\/control\/jobs\/(\d+)$/.exec(r.path))) {
        const run = tl.runs.find((j) => j.id === Number(m![1]));
        if (!run) throw new RestError(404, { detail: `No job with id ${m[1]} found.` });
        return { body: bareosJob(run) };
      }
      if (r.method === 'PUT' && (m = /^\/control\/jobs\/(enable|disable)\/(.+)$/.exec(r.path))) {
        if (!tl.def(m[2])) throw new RestError(404, { detail: `Job "${m[2]}" not found.` });
        tl.setJobEnabled(m[2], m[1] === 'enable');
        return { status: 204 };
      }
      if (r.method === 'PUT' && (m = /^\/control\/schedules\/(enable|disable)\/(.+)$/.exec(r.path))) {
        if (!tl.hasTrigger(m[2])) throw new RestError(404, { detail: `Schedule "${m[2]}" not found.` });
        tl.setTriggerEnabled(m[2], m[1] === 'enable');
        return { status: 204 };
      }
      if (r.method === 'GET' && (m = /^\/configuration\/jobs\/(.+)$/.exec(r.path))) {
        const d = tl.def(m[1]);
        if (!d) throw new RestError(404, { detail: `Job "${m[1]}" not found.` });
        return { body: { name: d.name, client: d.client, schedule: d.trigger, enabled: tl.isJobEnabled(d.name) } };
      }
      if (r.method === 'GET' && (m = /^\/configuration\/schedules\/(.+)$/.exec(r.path))) {
        if (!tl.hasTrigger(m[1])) throw new RestError(404, { detail: `Schedule "${m[1]}" not found.` });
        return { body: { name: m[1], enabled: tl.isTriggerEnabled(m[1]) } };
      }
      throw new RestError(404, { detail: 'Not Found' });
    },
  });
  return { ...face, sessions: () => tokens.size };
}
