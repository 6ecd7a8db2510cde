/**
 * How workers and irctl reach Temporal over mTLS (config/temporal.ts, temporal.* in the config file, irctl's
 * flags over it), and what an operator reads when the handshake is refused. The refusals are real: a TLS server
 * that requires client certificates from our CA (node:http2, as a Temporal frontend would), certificates made with
 * openssl by stack/pki.ts, and the SDK's two clients (grpc-js Connection, the Rust core's NativeConnection).
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createSecureServer, type Http2SecureServer } from 'node:http2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { ConfigError, loadConfig } from '../config/load';
import { explainConnectError, temporalConnectionOptions, type TemporalTls } from '../config/temporal';
import { splitGlobalOptions } from '../clients/irctl';
import { withClient } from '../clients/connection';
import { caFile, certFiles, issue, makeCa } from '../stack/pki';

const dir = mkdtempSync(join(tmpdir(), 'ir-tls-'));
const ours = join(dir, 'ours');
const theirs = join(dir, 'theirs');
let server: Http2SecureServer;
let address: string;

beforeAll(async () => {
  makeCa(ours, 'test CA');
  issue(ours, 'frontend', { server: ['temporal-frontend', 'localhost', '127.0.0.1'] });
  issue(ours, 'worker', { client: true });
  makeCa(theirs, 'a stranger CA');
  issue(theirs, 'stranger', { client: true });
  const front = certFiles('frontend', ours);
  server = createSecureServer({ cert: readFileSync(front.cert), key: readFileSync(front.key), ca: readFileSync(caFile(ours)), requestCert: true, rejectUnauthorized: true });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  address = `127.0.0.1:${(server.address() as { port: number }).port}`;
}, 60000);
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

/** A copy of config/stack.yaml with its temporal section replaced (paths relative to the copy). */
function stackConfig(temporal: unknown): string {
  const raw = parse(readFileSync('config/stack.yaml', 'utf8'));
  raw.temporal = temporal;
  const path = join(dir, `stack-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(path, stringify(raw));
  return path;
}

const pem = (f: string) => readFileSync(f);
const tls = (client: 'worker' | 'stranger' | undefined, serverName = 'temporal-frontend', ca = caFile(ours)): TemporalTls => ({
  serverNameOverride: serverName,
  serverRootCACertificate: pem(ca),
  clientCertPair: client ? { crt: pem(certFiles(client, client === 'worker' ? ours : theirs).cert), key: pem(certFiles(client, client === 'worker' ? ours : theirs).key) } : undefined,
});

async function refusal(kind: 'client' | 'native', t: TemporalTls): Promise<string> {
  try {
    if (kind === 'client') await (await Connection.connect({ address, tls: t, connectTimeout: 1500 })).close();
    else await (await NativeConnection.connect({ address, tls: t })).close();
  } catch (err) {
    return (await explainConnectError(err, { address, tls: t })).message;
  }
  throw new Error('connected');
}

describe('temporal.tls in the config file', () => {
  test("config/stack.yaml: clients with irctl's certificate and the stack's token, the worker with its own certificate, paths made absolute", () => {
    const config = loadConfig('config/stack.yaml');
    expect(config.temporal).toMatchObject({ address: '127.0.0.1:17233', namespace: 'default', tls: { serverName: 'temporal-frontend' } });
    expect(config.temporal!.tls!.certFile).toMatch(/^\/.*\/\.stack\/pki\/irctl\.crt$/);
    expect(config.temporal!.worker!.certFile).toMatch(/^\/.*\/\.stack\/pki\/worker\.crt$/);
    expect(config.temporal!.apiKeyFile).toMatch(/^\/.*\/\.stack\/jwt\/clients\.token$/);
  });

  test('temporal.apiKeyFile: clients send the token, the worker its own certificate and no token', () => {
    writeFileSync(join(dir, 'clients.token'), 'header.payload.signature\n', { mode: 0o600 });
    const path = stackConfig({
      tls: { caFile: 'ours/ca.crt', certFile: 'ours/frontend.crt', keyFile: 'ours/frontend.key' },
      apiKeyFile: 'clients.token',
      worker: { certFile: 'ours/worker.crt', keyFile: 'ours/worker.key' },
    });
    const config = loadConfig(path);
    const client = temporalConnectionOptions(config, {});
    expect(client.apiKey).toBe('header.payload.signature');
    expect(client.tls!.clientCertPair!.crt).toEqual(readFileSync(certFiles('frontend', ours).cert));
    const worker = temporalConnectionOptions(config, {}, 'worker');
    expect(worker.apiKey).toBeUndefined();
    expect(worker.tls!.clientCertPair!.crt).toEqual(readFileSync(certFiles('worker', ours).cert));
    // irctl reads the same file when it connects, unless --api-key gave one.
    const irctl = splitGlobalOptions(['--config', path, 'status'], {}).globals.connection;
    expect(irctl.apiKeyFile).toBe(join(dir, 'clients.token'));
    const byFlag = splitGlobalOptions(['--config', path, '--api-key', 'x.y.z', 'status'], {}).globals.connection;
    expect([byFlag.apiKey, byFlag.apiKeyFile]).toEqual(['x.y.z', undefined]);
  });

  test('a token file open to others, or missing, is refused naming temporal.apiKeyFile and the fix', () => {
    writeFileSync(join(dir, 'loose.token'), 'a.b.c\n', { mode: 0o644 });
    const loose = loadConfig(stackConfig({ apiKeyFile: 'loose.token' }));
    expect(() => temporalConnectionOptions(loose, {})).toThrow(/temporal\.apiKeyFile: secret file .*loose\.token is open to group or others \(mode 644\); run `chmod 600 .*loose\.token`/);
    const missing = loadConfig(stackConfig({ apiKeyFile: 'nowhere.token' }));
    expect(() => temporalConnectionOptions(missing, {})).toThrow(/temporal\.apiKeyFile: cannot read secret file .*nowhere\.token: ENOENT .*npm run stack/);
  });

  test('a certificate without its key is refused, naming temporal.tls.keyFile', () => {
    const path = stackConfig({ tls: { certFile: 'worker.crt' } });
    expect(() => loadConfig(path)).toThrow(/temporal\.tls\.keyFile: a client certificate needs both certFile and keyFile/);
  });

  test('a missing or non-PEM file is named by its field', () => {
    const missing = loadConfig(stackConfig({ tls: { caFile: 'nowhere/ca.crt' } }));
    expect(() => temporalConnectionOptions(missing, {})).toThrow(ConfigError);
    expect(() => temporalConnectionOptions(missing, {})).toThrow(/temporal\.tls\.caFile: cannot read .*nowhere\/ca\.crt \(ENOENT\)/);
    writeFileSync(join(dir, 'not-a-cert.crt'), 'hello');
    const notPem = loadConfig(stackConfig({ tls: { certFile: 'not-a-cert.crt', keyFile: 'not-a-cert.crt' } }));
    expect(() => temporalConnectionOptions(notPem, {})).toThrow(/temporal\.tls\.certFile: .*not-a-cert\.crt is not a PEM file/);
  });

  test('TEMPORAL_ADDRESS and TEMPORAL_NAMESPACE override the file; no temporal section: the local dev server', () => {
    const config = loadConfig(stackConfig({ address: '10.0.0.5:7233', namespace: 'vaults' }));
    expect(temporalConnectionOptions(config, {})).toEqual({ address: '10.0.0.5:7233', namespace: 'vaults' });
    expect(temporalConnectionOptions(config, { TEMPORAL_ADDRESS: 'h:1', TEMPORAL_NAMESPACE: 'x' })).toEqual({ address: 'h:1', namespace: 'x' });
    expect(temporalConnectionOptions(loadConfig('config/lab.yaml'), {})).toEqual({ address: '127.0.0.1:7233', namespace: 'default' });
  });
});

describe.each(['client', 'native'] as const)('a refused handshake through the SDK %s connection names what to fix', (kind) => {
  test('no client certificate: temporal.tls.certFile', async () => {
    expect(await refusal(kind, tls(undefined))).toMatch(/TLS handshake refused by 127\.0\.0\.1:\d+: the server requires a client certificate; set temporal\.tls\.certFile/);
  });
  test('a certificate from another CA: temporal.tls.certFile', async () => {
    expect(await refusal(kind, tls('stranger'))).toMatch(/TLS handshake refused by .*does not accept our client certificate; check temporal\.tls\.certFile/);
  });
  test('a wrong server name: temporal.tls.serverName', async () => {
    expect(await refusal(kind, tls('worker', 'not-the-frontend'))).toMatch(/not valid for the name we asked for \(not-the-frontend\): check temporal\.tls\.serverName/);
  });
  test('a server certificate from a CA we do not trust: temporal.tls.caFile', async () => {
    expect(await refusal(kind, tls('worker', 'temporal-frontend', caFile(theirs)))).toMatch(/not signed by the CA we trust: check temporal\.tls\.caFile/);
  });
});

describe('irctl: the config file supplies the connection, flags and TEMPORAL_* override it', () => {
  const config = () =>
    stackConfig({ address, tls: { caFile: join(ours, 'ca.crt'), certFile: 'ours/worker.crt', keyFile: 'ours/worker.key', serverName: 'temporal-frontend' } });

  test('--config fills address and TLS, paths relative to the file', () => {
    const { globals } = splitGlobalOptions(['--config', config(), 'status', 'lab-vault'], {});
    expect(globals.connection).toMatchObject({ address, tls: true, tlsCertPath: join(dir, 'ours/worker.crt'), tlsServerName: 'temporal-frontend' });
  });

  test('a flag or TEMPORAL_* wins over the file', () => {
    const { globals } = splitGlobalOptions(['--config', config(), '--tls-server-name', 'other', 'status'], { TEMPORAL_ADDRESS: 'elsewhere:7233' });
    expect(globals.connection).toMatchObject({ address: 'elsewhere:7233', tlsServerName: 'other', tlsCertPath: join(dir, 'ours/worker.crt') });
  });

  test("the refusal names the config field when the setting came from the file, the flag when from the flag", async () => {
    const fromFile = splitGlobalOptions(['--config', stackConfig({ address, tls: { caFile: join(ours, 'ca.crt'), serverName: 'temporal-frontend' } })], {}).globals.connection;
    await expect(withClient(fromFile, async () => 0)).rejects.toThrow(/requires a client certificate; set temporal\.tls\.certFile \(.*stack-.*\.yaml\)/);
    const byFlag = splitGlobalOptions(['--config', config(), '--tls-server-name', 'not-the-frontend'], {}).globals.connection;
    await expect(withClient(byFlag, async () => 0)).rejects.toThrow(/check --tls-server-name/);
  });
});
