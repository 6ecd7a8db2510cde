/**
 * The vault DD's REST face (DD OS REST API, what port 3009 serves) over the same lab state as its CLI:
 * `POST /rest/v1.0/auth` → 201 with the session token in `X-DD-AUTH-TOKEN` (body `{username,password}` or the
 * older `{auth_info:{…}}`), `DELETE` logs out; sessions expire after `tokenTtlMs` of idleness, as DD sessions
 * do; MTree detail with `mtree_rl_detail` (v2.0 strings, v1.0 integer codes); `rlfiles` GET (filter
 * `rl_filepath=…`, `page`/`size` paging) and PUT (absolute or relative retention time, `set_time:false`
 * reverts a governance lock; compliance locks cannot be reverted, and no lock is ever shortened). Answers
 * are a per-file `service_status` list, as the DD's service_status_group.
 */
import type { MtreeDef } from './mtrees';
import type { Faults } from './faults';
import { newToken, RestError, startRestFace, type RestFace, type RestRequest } from './rest-server';
import { listFiles, type RetentionLock } from './retention';
import type { LabCert } from './tls';

export interface DdRestOptions {
  host: string;
  port: number;
  cert: LabCert;
  faults: Faults;
  username: string;
  password: string;
  mtrees: MtreeDef[];
  retention: RetentionLock;
  tokenTtlMs?: number;
  log: (line: string) => void;
}

const unauthorized = () => new RestError(401, { code: 5001, details: 'Unauthorized: the session is invalid or has expired. Log in again.' });

export async function startDdRest(o: DdRestOptions): Promise<RestFace & { sessions(): number }> {
  const ttl = o.tokenTtlMs ?? 30 * 60_000;
  const sessions = new Map<string, number>(); // token → last use
  const authed = (r: RestRequest) => {
    const t = r.headers['x-dd-auth-token'];
    const last = typeof t === 'string' ? sessions.get(t) : undefined;
    if (last === undefined) throw unauthorized();
    if (Date.now() - last > ttl) {
      sessions.delete(t as string);
      throw unauthorized();
    }
    sessions.set(t as string, Date.now());
  };
  const mtree = (id: string): MtreeDef => {
    const m = o.mtrees.find((x) => x.path === id.replace(/\/+$/, ''));
    if (!m) throw new RestError(404, { code: 5404, details: `MTree "${id}" does not exist.` });
    return m;
  };
  const rlDetail = (m: MtreeDef, v1: boolean) => {
    const on = m.kind === 'retention';
    const mode = on ? o.retention.mode() : 'no-mode';
    const { minSeconds, maxSeconds } = o.retention.limits();
    return v1
      ? { rl_status: on ? 1 : 0, rl_mode: { 'no-mode': 0, governance: 1, compliance: 2 }[mode], rl_min_period: on ? minSeconds : 0, rl_max_period: on ? maxSeconds : 0 }
      : { rl_status: on ? 'enabled' : 'never-enabled', rl_mode: mode, rl_min_period: on ? minSeconds : 0, rl_max_period: on ? maxSeconds : 0, rl_uuid: on ? 'lab-rl-0001' : '' };
  };
  const rlRetention = (m: MtreeDef) => {
    if (m.kind !== 'retention') throw new RestError(400, { code: 5018, details: `Retention-lock is not enabled on mtree "${m.path}".` });
    return o.retention;
  };

  const face = await startRestFace({
    name: 'vault-dd REST',
    device: 'vault-dd-rest',
    host: o.host,
    port: o.port,
    cert: o.cert,
    faults: o.faults,
    log: o.log,
    dropToken: (r) => {
      const t = r.headers['x-dd-auth-token'];
      if (typeof t === 'string') sessions.delete(t);
    },
    handler: (r) => {
      if (r.path === '/rest/v1.0/auth' && r.method === 'POST') {
        const b = (r.body ?? {}) as { username?: string; password?: string; auth_info?: { username?: string; password?: string } };
        const cred = b.auth_info ?? b;
        if (cred.username !== o.username || cred.password !== o.password) {
          o.log(`vault-dd REST: login refused for ${String(cred.username)}`);
          throw new RestError(401, { code: 5001, details: 'Authentication failed: invalid username or password.' });
        }
        const token = newToken();
        sessions.set(token, Date.now());
        return { status: 201, headers: { 'X-DD-AUTH-TOKEN': token }, body: { service_status: { details: 'success', code: 0 } } };
      }
      if (r.path === '/rest/v1.0/auth' && r.method === 'DELETE') {
        authed(r);
        sessions.delete(r.headers['x-dd-auth-token'] as string);
        return { status: 200, body: { service_status: { details: 'success', code: 0 } } };
      }
      let m: RegExpExecArray | null;
      if ((m = /^\/rest\/v(1\.0|2\.0|3\.0)\/dd-systems\/0\/mtrees\/?$/.exec(r.path)) && r.method === 'GET') {
        authed(r);
        return { body: { mtree: o.mtrees.map((t) => ({ id: encodeURIComponent(t.path), name: t.path })), paging_info: { total_entries: o.mtrees.length } } };
      }
      if ((m = /^\/rest\/v1\.0\/dd-systems\/0\/mtrees\/(.+)\/rlfiles$/.exec(r.path))) {
        authed(r);
        const rl = rlRetention(mtree(m[1]));
        if (r.method === 'GET') return { body: listRlFiles(rl, r) };
        if (r.method === 'PUT') return { body: putRlFiles(rl, r, o.log) };
      }
      if ((m = /^\/rest\/v(1\.0|2\.0|3\.0)\/dd-systems\/0\/mtrees\/(.+)$/.exec(r.path)) && r.method === 'GET') {
        authed(r);
        const t = mtree(m[2]);
        return { body: { id: encodeURIComponent(t.path), name: t.path, mtree_rl_detail: rlDetail(t, m[1] === '1.0') } };
      }
      throw new RestError(404, { code: 5404, details: `No resource ${r.method} ${r.path}.` });
    },
  });
  return { ...face, sessions: () => sessions.size };
}

function listRlFiles(rl: RetentionLock, r: RestRequest) {
  const filter = /^rl_filepath=(.+)$/.exec(r.query.get('filter') ?? '')?.[1];
  const mode = rl.mode();
  const now = Date.now();
  // Every file of the MTree with its state; a filter narrows to one path.
  const files = (filter ? [filter.replace(/^\/+/, '')] : listFiles(rl.root)).map((rel) => {
    const l = rl.lockOf(rel);
    const state = !l.until ? 'unlocked' : l.until.getTime() > now ? 'locked' : 'expired';
    return { rl_filepath: rel, mode, enable: state === 'locked', state, expiration_date: l.until ? Math.floor(l.until.getTime() / 1000) : 0 };
  });
  const size = Math.max(1, Math.min(1000, Number(r.query.get('size') ?? 100)));
  const page = Math.max(0, Number(r.query.get('page') ?? 0));
  return {
    rlfile: files.slice(page * size, (page + 1) * size),
    paging_info: { current_page: page, page_entries: Math.min(size, Math.max(0, files.length - page * size)), total_entries: files.length, page_size: size },
  };
}

const PutBody = (b: unknown): Array<{ file_path: string; set_time?: boolean; retention_time?: number; use_absolute_time?: boolean }> => {
  const list = (b as { rlfile?: unknown })?.rlfile;
  if (!Array.isArray(list) || list.some((f) => typeof f?.file_path !== 'string')) {
    throw new RestError(400, { code: 5000, details: 'Invalid request body: expected {"rlfile":[{"file_path":…,"set_time":…,"retention_time":…}]}.' });
  }
  return list;
};

function putRlFiles(rl: RetentionLock, r: RestRequest, log: (l: string) => void) {
  const status = PutBody(r.body).map((f) => {
    const rel = f.file_path.replace(/^\/+/, '');
    let refusal: string | null;
    if (f.set_time === false) {
      refusal = rl.revert(rel);
    } else if (typeof f.retention_time !== 'number' || !Number.isFinite(f.retention_time)) {
      refusal = 'retention_time is required when set_time is true.';
    } else {
      const until = f.use_absolute_time === false ? Date.now() + f.retention_time * 1000 : f.retention_time * 1000;
      refusal = rl.setLock(rel, new Date(until));
    }
    return refusal ? { file_path: f.file_path, code: 5018, details: refusal } : { file_path: f.file_path, code: 0, details: 'success' };
  });
  const refused = status.filter((s) => s.code !== 0).length;
  log(`vault-dd REST: rlfiles PUT ${status.length} files, ${refused} refused`);
  return { service_status: status };
}
