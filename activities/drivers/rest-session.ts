/**
 * A token session over one pinned HTTPS client, shared by the REST drivers (DD REST, Bareos): log in when there is
 * no token, send the token with each call, and after a 401 (the token expired or the appliance dropped the
 * session) log in once more and repeat the call. A non-2xx answer becomes the driver error of rest-errors.ts.
 */
import type { HttpsRequest, HttpsResponse, HttpsSession } from './https';
import { httpError } from './rest-errors';

export interface TokenSession {
  call(req: Omit<HttpsRequest, 'headers'>): Promise<HttpsResponse>;
  /** The current token, if logged in (for a logout). */
  readonly token: string | undefined;
  forget(): void;
  stats(): { requests: number; logins: number };
}

export function tokenSession(
  http: HttpsSession,
  label: string,
  /** Logs in and returns the token; errors name the credential (refusedLogin). */
  login: () => Promise<string>,
  authHeaders: (token: string) => Record<string, string>,
): TokenSession {
  let token: string | undefined;
  let requests = 0;
  let logins = 0;
  const fresh = async () => {
    requests++;
    token = await login();
    logins++;
  };
  return {
    async call(req) {
      if (!token) await fresh();
      const send = () => {
        requests++;
        return http.request({ ...req, headers: authHeaders(token!) });
      };
      let res = await send();
      if (res.status === 401) {
        token = undefined;
        await fresh();
        res = await send();
      }
      if (res.status < 200 || res.status >= 300) throw httpError(label, `${req.method} /${req.path}`, res);
      return res;
    },
    get token() {
      return token;
    },
    forget() {
      token = undefined;
    },
    stats: () => ({ requests, logins }),
  };
}
