/**
 * Data Domain REST API (PowerProtect DD OS, port 3009): `POST /rest/v1.0/auth` → token in the
 * `X-DD-AUTH-TOKEN` response header, sent on every later call; MTree retention-lock detail
 * (`mtree_rl_detail`); file locks through `rlfiles` (GET state and expiry, PUT an absolute retention time).
 * A 401 on a call made with a token means the session expired (DD sessions time out): log in again once and
 * repeat the call. Locks only grow: a file already locked until later is never sent a shorter time.
 */
import { DeviceCommandError } from '../errors';
import type { HttpsResponse, HttpsSession, HttpsTarget, OpenHttps } from '../https';
import { httpError, refusedLogin, type CredentialHint } from '../rest-errors';
import { tokenSession } from '../rest-session';
import type { RetentionLockStatus } from './parse';

export interface DdRestTarget extends HttpsTarget {
  username: string;
  password: string;
  credential: CredentialHint;
}

export interface RlFile {
  path: string; // relative to the MTree
  state: 'unlocked' | 'locked' | 'expired';
  mode: string;
  expires: Date | null;
}

export interface DataDomainRest {
  readonly label: string;
  mtreeRetention(mtree: string): Promise<RetentionLockStatus & { status: string }>;
  /** Lock state of files of an MTree (all when `paths` is absent), following the paging. */
  fileLocks(mtree: string, paths?: string[]): Promise<RlFile[]>;
  /** Locks each file until `until` (absolute), never shortening a longer lock; returns what it sent. */
  lockFiles(mtree: string, paths: string[], until: Date, onProgress?: (done: number) => void): Promise<{ sent: number; alreadyLonger: number }>;
  /** Requests made and re-logins after an expired token (for the report and tests). */
  stats(): { requests: number; logins: number };
  close(): Promise<void>;
}

const API = 'rest/v1.0/dd-systems/0';
const API2 = 'rest/v2.0/dd-systems/0';
const PAGE = 200;
const BATCH = 100;

const RL_STATUS_V1: Record<number, string> = { 0: 'never-enabled', 1: 'enabled', 2: 'disabled' };
const RL_MODE_V1: Record<number, string> = { 0: 'no-mode', 1: 'governance', 2: 'compliance' };

export function openDataDomainRest(open: OpenHttps, target: DdRestTarget): DataDomainRest {
  const http: HttpsSession = open(target);
  const label = target.device;
  const login = async (): Promise<string> => {
    const what = 'POST /rest/v1.0/auth';
    const res = await http.request({ method: 'POST', path: 'rest/v1.0/auth', json: { username: target.username, password: target.password } });
    if (res.status === 401 || res.status === 403) throw refusedLogin(label, what, res, target.credential);
    if (res.status !== 201 && res.status !== 200) throw httpError(label, what, res);
    const t = res.headers['x-dd-auth-token'];
    if (typeof t !== 'string' || !t) throw new DeviceCommandError(label, what, res.text, `${label} accepted the login but sent no X-DD-AUTH-TOKEN header`, true);
    return t;
  };
  // A 401 on a call: the DD session expired; one fresh login, then the call again (activities/drivers/rest-session.ts).
  const session = tokenSession(http, label, login, (token) => ({ 'X-DD-AUTH-TOKEN': token }));
  const call = (method: 'GET' | 'PUT', path: string, opts: { json?: unknown; searchParams?: Record<string, string | number> } = {}): Promise<HttpsResponse> =>
    session.call({ method, path, ...opts });

  const mtreeId = (mtree: string) => encodeURIComponent(mtree);

  return {
    label,
    async mtreeRetention(mtree) {
      const res = await call('GET', `${API2}/mtrees/${mtreeId(mtree)}`);
      const d = (res.body as { mtree_rl_detail?: Record<string, unknown> })?.mtree_rl_detail;
      if (!d) throw new DeviceCommandError(label, `GET /${API2}/mtrees/${mtree}`, res.text, `${label}: MTree ${mtree} detail has no mtree_rl_detail`);
      const status = typeof d.rl_status === 'number' ? RL_STATUS_V1[d.rl_status] : String(d.rl_status);
      const mode = typeof d.rl_mode === 'number' ? RL_MODE_V1[d.rl_mode] : String(d.rl_mode);
      return {
        status,
        enabled: status === 'enabled',
        mode: mode === 'governance' || mode === 'compliance' ? mode : 'none',
        minSeconds: Number(d.rl_min_period ?? 0),
        maxSeconds: Number(d.rl_max_period ?? 0),
        options: Object.fromEntries(Object.entries(d).map(([k, v]) => [k, String(v)])),
      };
    },

    async fileLocks(mtree, paths) {
      const out: RlFile[] = [];
      const parse = (f: Record<string, unknown>): RlFile => ({
        path: String(f.rl_filepath),
        state: String(f.state) as RlFile['state'],
        mode: String(f.mode ?? ''),
        expires: typeof f.expiration_date === 'number' && f.expiration_date > 0 ? new Date(f.expiration_date * 1000) : null,
      });
      if (paths) {
        for (const p of paths) {
          const res = await call('GET', `${API}/mtrees/${mtreeId(mtree)}/rlfiles`, { searchParams: { filter: `rl_filepath=${p}` } });
          for (const f of ((res.body as { rlfile?: Record<string, unknown>[] })?.rlfile ?? [])) out.push(parse(f));
        }
        return out;
      }
      for (let page = 0; ; page++) {
        const res = await call('GET', `${API}/mtrees/${mtreeId(mtree)}/rlfiles`, { searchParams: { page, size: PAGE } });
        const body = res.body as { rlfile?: Record<string, unknown>[]; paging_info?: { total_entries?: number } };
        for (const f of body?.rlfile ?? []) out.push(parse(f));
        const total = body?.paging_info?.total_entries ?? out.length;
        if (!body?.rlfile?.length || out.length >= total) return out;
      }
    },

    async lockFiles(mtree, paths, until, onProgress) {
      const current = new Map((await this.fileLocks(mtree)).map((f) => [f.path, f]));
      const retentionTime = Math.ceil(until.getTime() / 1000);
      const todo = paths.filter((p) => {
        const c = current.get(p);
        return !(c?.state === 'locked' && c.expires && c.expires.getTime() >= retentionTime * 1000);
      });
      for (let i = 0; i < todo.length; i += BATCH) {
        const batch = todo.slice(i, i + BATCH);
        const what = `PUT /${API}/mtrees/${mtree}/rlfiles`;
        const res = await call('PUT', `${API}/mtrees/${mtreeId(mtree)}/rlfiles`, {
          json: { rlfile: batch.map((p) => ({ file_path: p, set_time: true, use_absolute_time: true, retention_time: retentionTime })) },
        });
        // The answer is a service_status_group: one status per file; any non-zero code is the device saying no.
        const statuses = (res.body as { service_status?: Array<{ file_path?: string; code?: number; details?: string }> })?.service_status ?? [];
        const refused = statuses.filter((s) => s.code !== 0);
        if (refused.length) {
          throw new DeviceCommandError(label, what, res.text, `${label} refused to lock ${refused.length} of ${batch.length} files, e.g. ${refused[0].file_path}: ${refused[0].details}`);
        }
        onProgress?.(Math.min(i + BATCH, todo.length));
      }
      return { sent: todo.length, alreadyLonger: paths.length - todo.length };
    },

    stats: () => session.stats(),

    async close() {
      const token = session.token;
      if (token) {
        // Log out so the appliance's session table does not fill up; a failure here changes nothing.
        await http.request({ method: 'DELETE', path: 'rest/v1.0/auth', headers: { 'X-DD-AUTH-TOKEN': token } }).catch(() => undefined);
        session.forget();
      }
      http.close();
    },
  };
}
