/**
 * Bareos through its REST API (bareos_restapi, FastAPI): OAuth2 password login at `POST /token` → bearer
 * token (it expires: a 401 later means log in again, once); `GET /control/jobs?job=…` for the jobs' `jobstatus`;
 * `PUT /control/{jobs|schedules}/{disable|enable}/{name}`. A disable lasts until the Director reloads, which
 * is why the cycle re-asserts its hold while it runs.
 */
import { DeviceCommandError } from '../errors';
import type { HttpsResponse, OpenHttps } from '../https';
import { httpError, refusedLogin } from '../rest-errors';
import { tokenSession } from '../rest-session';
import type { BackupDriver, BackupTarget, HoldItem } from './types';

// Bareos terminal job states (CatalogTables): T ok, W ok with warnings, E/e/f errors, A cancelled.
const TERMINAL = new Set(['T', 'W', 'E', 'e', 'f', 'A']);

export function openBareos(open: OpenHttps, target: BackupTarget): BackupDriver {
  const http = open(target);
  const label = target.device;
  const login = async (): Promise<string> => {
    const res = await http.request({ method: 'POST', path: 'token', form: { grant_type: 'password', username: target.username, password: target.password } });
    if (res.status === 401 || res.status === 403) throw refusedLogin(label, 'POST /token', res, target.credential);
    if (res.status !== 200) throw httpError(label, 'POST /token', res);
    const t = (res.body as { access_token?: string })?.access_token;
    if (!t) throw new DeviceCommandError(label, 'POST /token', res.text, `${label} accepted the login but returned no access_token`, true);
    return t;
  };
  const session = tokenSession(http, label, login, (token) => ({ authorization: `Bearer ${token}` }));
  const call = (method: 'GET' | 'PUT', path: string, searchParams?: Record<string, string>): Promise<HttpsResponse> => session.call({ method, path, searchParams });

  const resource = (item: HoldItem) => {
    if (item.kind === 'workflow') throw new Error(`${label}: Bareos has no workflows to hold (${item.name})`);
    return item.kind === 'job' ? 'jobs' : 'schedules';
  };

  return {
    label,
    async activeJobs(names) {
      const out = [];
      for (const name of names) {
        const res = await call('GET', 'control/jobs', { job: name, days: '7' });
        const jobs = (res.body as { jobs?: Array<Record<string, string>> })?.jobs ?? [];
        for (const j of jobs) {
          if (j.name === name && !TERMINAL.has(j.jobstatus)) out.push({ id: String(j.jobid), name, status: j.jobstatus, startedAt: j.starttime ?? undefined });
        }
      }
      return out;
    },
    async isEnabled(item) {
      const res = await call('GET', `configuration/${resource(item)}/${encodeURIComponent(item.name)}`);
      const enabled = (res.body as { enabled?: unknown })?.enabled;
      return enabled === true || enabled === 'yes';
    },
    async setEnabled(item, enabled) {
      await call('PUT', `control/${resource(item)}/${enabled ? 'enable' : 'disable'}/${encodeURIComponent(item.name)}`);
    },
    stats: () => session.stats(),
    async close() {
      http.close();
    },
  };
}
