/**
 * NetWorker REST API v3 simulator (`/nwrestapi/v3/global`, HTTP Basic auth): `GET /jobs` with `q=field:value`
 * filters joined by ` and ` → `{count, jobs:[{id, name, type, state, completionStatus, startTime, endTime}]}`
 * (state Active while running, Completed after; completionStatus Succeeded/Failed/Cancelled), `GET /jobs/{id}`,
 * `GET|PUT /protectionpolicies/{policy}/workflows/{workflow}` where `autoStartEnabled:false` holds the
 * workflow's scheduled starts (PUT answers 204).
 */
import type { Faults } from '../faults';
import { RestError, startRestFace, type RestFace, type RestRequest } from '../rest-server';
import type { LabCert } from '../tls';
import type { BackupTimeline, JobRun } from './timeline';

export interface NetWorkerOptions {
  host: string;
  port: number;
  cert: LabCert;
  faults: Faults;
  username: string;
  password: string;
  timeline: BackupTimeline;
  log: (line: string) => void;
}

const BASE = '/nwrestapi/v3/global';

export function networkerJob(r: JobRun) {
  return {
    id: r.id,
    name: r.name,
    type: 'workflow job',
    clientHostname: r.client,
    workflowName: r.trigger,
    state: r.state === 'running' ? 'Active' : 'Completed',
    completionStatus: r.state === 'running' ? 'Unknown' : { ok: 'Succeeded', failed: 'Failed', cancelled: 'Cancelled' }[r.state],
    startTime: r.startedAt.toISOString(),
    ...(r.endedAt && { endTime: r.endedAt.toISOString() }),
  };
}

export async function startNetWorker(o: NetWorkerOptions): Promise<RestFace> {
  const expected = `Basic ${Buffer.from(`${o.username}:${o.password}`).toString('base64')}`;
  const authed = (r: RestRequest) => {
    if (r.headers.authorization !== expected) throw new RestError(401, { message: 'Unauthorized access: the user name or password is incorrect.', status: { code: 401 } });
  };
  const tl = o.timeline;
  const notFound = (what: string) => new RestError(404, { message: `${what} not found.`, status: { code: 404, reasonPhrase: 'Not Found' } });
  return startRestFace({
    name: 'networker REST',
    device: 'networker',
    host: o.host,
    port: o.port,
    cert: o.cert,
    faults: o.faults,
    log: o.log,
    handler: (r) => {
      authed(r);
      if (!r.path.startsWith(BASE + '/')) throw notFound(`Resource ${r.path}`);
      const p = r.path.slice(BASE.length);
      let m: RegExpExecArray | null;
      if (r.method === 'GET' && p === '/jobs') {
        const conds = (r.query.get('q') ?? '')
          .split(/\s+and\s+/i)
          .map((c) => c.trim())
          .filter(Boolean)
          .map((c) => c.split(':') as [string, string]);
        const jobs = tl.runs.map(networkerJob).filter((j) => conds.every(([k, v]) => String((j as Record<string, unknown>)[k]) === v));
        return { body: { count: jobs.length, jobs } };
      }
      if (r.method === 'GET' && (m = /^\/jobs\/(\d+)$/.exec(p))) {
        const run = tl.runs.find((j) => j.id === Number(m![1]));
        if (!run) throw notFound(`Job ${m[1]}`);
        return { body: networkerJob(run) };
      }
      if ((m = /^\/protectionpolicies\/([^/]+)\/workflows\/([^/]+)$/.exec(p))) {
        const trigger = `${m[1]}/${m[2]}`;
        if (!tl.hasTrigger(trigger)) throw notFound(`Workflow ${m[2]} of protection policy ${m[1]}`);
        if (r.method === 'GET') return { body: { name: m[2], policyName: m[1], autoStartEnabled: tl.isTriggerEnabled(trigger), enabled: true } };
        if (r.method === 'PUT') {
          const b = r.body as { autoStartEnabled?: unknown };
          if (typeof b?.autoStartEnabled !== 'boolean') throw new RestError(400, { message: 'autoStartEnabled must be true or false.', status: { code: 400 } });
          tl.setTriggerEnabled(trigger, b.autoStartEnabled);
          return { status: 204 };
        }
      }
      throw notFound(`Resource ${r.method} ${r.path}`);
    },
  });
}
