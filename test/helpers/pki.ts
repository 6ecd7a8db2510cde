/** A throwaway CA with a server and a client certificate, made by openssl (the tests' stand-in for the stack's CA). */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface TestCa {
  caCert: string;
  caKey: string;
  /** server certificate for 127.0.0.1 / localhost */
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
}

const openssl = (args: string[], cwd: string) => execFileSync('openssl', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });

export function makeTestCa(dir: string, name: string): TestCa {
  const p = (f: string) => join(dir, `${name}-${f}`);
  openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2', '-subj', `/CN=${name} test CA`, '-keyout', p('ca.key'), '-out', p('ca.crt')], dir);
  const issue = (leaf: string, cn: string, ext: string) => {
    openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-subj', `/CN=${cn}`, '-keyout', p(`${leaf}.key`), '-out', p(`${leaf}.csr`)], dir);
    writeFileSync(p(`${leaf}.ext`), ext);
    openssl(['x509', '-req', '-in', p(`${leaf}.csr`), '-CA', p('ca.crt'), '-CAkey', p('ca.key'), '-CAcreateserial', '-days', '2', '-extfile', p(`${leaf}.ext`), '-out', p(`${leaf}.crt`)], dir);
  };
  issue('server', '127.0.0.1', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  issue('client', 'operator', 'extendedKeyUsage=clientAuth\n');
  return { caCert: p('ca.crt'), caKey: p('ca.key'), serverCert: p('server.crt'), serverKey: p('server.key'), clientCert: p('client.crt'), clientKey: p('client.key') };
}
