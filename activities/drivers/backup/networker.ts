/**
 * NetWorker through its REST API v3 (`/nwrestapi/v3/global`, HTTP Basic auth): `GET /jobs?q=name:…` for the
 * jobs' `state` (not finished: Created, Queued, Started, Active, SessionActive), and a protection-policy
 * workflow's `autoStartEnabled` (GET, PUT) to hold and release its scheduled starts.
 */
import type { OpenHttps } from '../https';
import { httpError, refusedLogin } from '../rest-errors';
import type { BackupDriver, BackupTarget, HoldItem } from './types';

const BASE = 'nwrestapi/v3/global';
const FINISHED = new Set(['Completed', 'Cancelled', 'Unknown']);

export function openNetWorker(open: OpenHttps, target: BackupTarget): BackupDriver {
  const http = open(target);
  const label = target.device;
  const auth = `Basic ${Buffer.from(`${target.username}:${target.password}`).toString('base64')}`;
  let requests = 0;

  const call = async (method: 'GET' | 'PUT', path: string, opts: { json?: unknown; searchParams?: Record<string, string> } = {}) => {
    requests++;
    const res = await http.request({ method, path: `${BASE}/${path}`, headers: { authorization: auth }, ...opts });
    // Basic auth is sent every time: a 401 is the credential itself being refused.
    if (res.status === 401 || res.status === 403) throw refusedLogin(label, `${method} /${BASE}/${path}`, res, target.credential);
    if (res.status < 200 || res.status >= 300) throw httpError(label, `${method} /${BASE}/${path}`, res);
    return res;
  };
  const workflowPath = (item: HoldItem) => {
    const [policy, workflow] = item.name.split('/');
    if (item.kind !== 'workflow' || !workflow) throw new Error(`${label}: NetWorker holds workflows as policy/workflow, got ${item.kind} ${item.name}`);
    return `protectionpolicies/${encodeURIComponent(policy)}/workflows/${encodeURIComponent(workflow)}`;
  };

  return {
    label,
    async activeJobs(names) {
      const out = [];
      for (const name of names) {
        const res = await call('GET', 'jobs', { searchParams: { q: `name:${name}` } });
        for (const j of (res.body as { jobs?: Array<Record<string, unknown>> })?.jobs ?? []) {
          if (j.name === name && !FINISHED.has(String(j.state))) out.push({ id: String(j.id), name, status: String(j.state), startedAt: j.startTime ? String(j.startTime) : undefined });
        }
      }
      return out;
    },
    async isEnabled(item) {
      const res = await call('GET', workflowPath(item));
      return (res.body as { autoStartEnabled?: unknown })?.autoStartEnabled === true;
    },
    async setEnabled(item, enabled) {
      await call('PUT', workflowPath(item), { json: { autoStartEnabled: enabled } });
    },
    stats: () => ({ requests, logins: 0 }),
    async close() {
      http.close();
    },
  };
}
