/**
 * Encrypted payloads end to end on the dev server: the real cycle (an unknown vault: it fails in PREFLIGHT with
 * a message naming the vault and returns its CycleResult in the failure) run by a worker and a client that both
 * use dataConverterFor(config). The history the server keeps, read raw and through `temporal workflow show`,
 * holds none of the input, result or failure text; through the codec server (`--codec-endpoint`, the stack CA
 * given to the CLI's Go TLS stack by SSL_CERT_FILE) it reads in clear. The codec server (its real entry,
 * `codec/main.ts serve`) is checked with curl: token, client certificate, CORS for the UI origin only.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Client, WorkflowFailedError } from '@temporalio/client';
import type { temporal as proto } from '@temporalio/proto';
import { loadConfig } from '../config/load';
import { dataConverterFor } from '../codec/data-converter';
import { generateKeyFile } from '../codec/keys';
import { createWorker } from '../workers/worker';
import { isolatedRecoveryCycle } from '../workflows';
import type { CycleResult } from '../workflows/cycle-messages';
import { ensureTemporalCli } from '../clients/temporal-cli';
import { connectTemporal, describeTemporal, temporalAddress } from './helpers/temporal';
import { makeTestCa, type TestCa } from './helpers/pki';

jest.setTimeout(180_000);

const ROOT = resolve(__dirname, '..');
const UI_ORIGIN = 'http://127.0.0.1:18233';

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; out: string; err: string }> {
  return new Promise((res) => {
    execFile(cmd, args, { env: { ...process.env, ...env }, timeout: 60_000, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      res({ code: error ? ((error as any).code ?? 1) : 0, out: stdout, err: stderr });
    });
  });
}

/** Every string in a history (bytes read as UTF-8) with the path it sits at, e.g. events[3].…searchAttributes. */
function textsOf(node: unknown, path = '', out: Array<{ path: string; text: string }> = []): Array<{ path: string; text: string }> {
  if (node instanceof Uint8Array) out.push({ path, text: Buffer.from(node).toString('utf8') });
  else if (typeof node === 'string') out.push({ path, text: node });
  else if (Array.isArray(node)) node.forEach((n, i) => textsOf(n, `${path}[${i}]`, out));
  else if (node && typeof node === 'object') for (const [k, v] of Object.entries(node)) textsOf(v, path ? `${path}.${k}` : k, out);
  return out;
}

/** The CLI's JSON output as text, every base64 string (payload data and metadata) also read decoded. */
function cliTexts(json: string): string {
  const out: string[] = [];
  for (const { text } of textsOf(JSON.parse(json))) {
    out.push(text);
    if (/^[A-Za-z0-9+/]+={0,2}$/.test(text) && text.length % 4 === 0) out.push(Buffer.from(text, 'base64').toString('utf8'));
  }
  return out.join('\n');
}

/** Where a string occurs, with array indexes dropped: the kinds of places, not the positions. */
const placesOf = (history: unknown, needle: string) =>
  [...new Set(textsOf(history).filter((t) => t.text.includes(needle)).map((t) => t.path.replace(/\[\d+\]/g, '[]')))].sort();

describeTemporal('encrypted payloads on the dev server, the CLI and the codec server', () => {
  let temporal: Awaited<ReturnType<typeof connectTemporal>>;
  let dir: string;
  let ca: TestCa;
  let rogue: TestCa;
  let cli: string;
  let codecServer: ChildProcess | undefined;
  let codecUrl: string;
  let token: string;
  const vaultId = `zz-sealed-${randomBytes(3).toString('hex')}`;
  const workflowId = `codec-test-${Date.now()}`;
  let history: proto.api.history.v1.IHistory;

  beforeAll(async () => {
    temporal = await connectTemporal();
    cli = await ensureTemporalCli();
    dir = mkdtempSync(join(tmpdir(), 'ir-codec-e2e-'));
    ca = makeTestCa(dir, 'stack');
    rogue = makeTestCa(dir, 'rogue');
    generateKeyFile(join(dir, 'old.key'));
    generateKeyFile(join(dir, 'new.key'));
    token = randomBytes(24).toString('hex');
    writeFileSync(join(dir, 'token'), `${token}\n`, { mode: 0o600 });
    // The codec server's real entry as the stack runs it: the keys from a config file's temporal.encryption.
    writeFileSync(join(dir, 'stack.yaml'), 'temporal:\n  encryption:\n    keys:\n      - { id: new, file: new.key }\n      - { id: old, file: old.key }\n');
    codecServer = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'codec/main.ts'), 'serve', '--port', '0',
      '--tls-cert', ca.serverCert, '--tls-key', ca.serverKey, '--client-ca', ca.caCert, '--token-file', join(dir, 'token'),
      '--allow-origin', UI_ORIGIN, '--config', join(dir, 'stack.yaml')], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    codecUrl = await new Promise<string>((res, rej) => {
      let out = '';
      const onData = (d: Buffer) => {
        out += d.toString();
        const m = /codec server on (https:\/\/\S+)/.exec(out);
        if (m) res(m[1]);
      };
      codecServer!.stdout!.on('data', onData);
      codecServer!.stderr!.on('data', onData);
      codecServer!.once('exit', (code) => rej(new Error(`codec server exited ${code}: ${out}`)));
    });
  });
  afterAll(async () => {
    codecServer?.kill('SIGTERM');
    await temporal?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('the real cycle with the codec on worker and client: history holds no plaintext of input, result or failure', async () => {
    const base = loadConfig(join(ROOT, 'config/lab.yaml'));
    // Rotation in place: the worker encrypts with "new" and still reads "old"; the codec server has both.
    const config = { ...base, evidenceDir: join(dir, 'evidence'), temporal: { encryption: { keys: [{ id: 'new', file: join(dir, 'new.key') }, { id: 'old', file: join(dir, 'old.key') }] } } };
    const dataConverter = dataConverterFor(config)!;
    const taskQueue = `codec-${Date.now()}`;
    // No prebuilt bundle: the Worker bundles the workflows with the failure converter (failureConverterPath).
    const worker = await createWorker({ connection: temporal.native, config, taskQueue, dataConverter });
    const client = new Client({ connection: temporal.connection, dataConverter });
    const failure = await worker.runUntil(async () => {
      const handle = await client.workflow.start(isolatedRecoveryCycle, { taskQueue, workflowId, args: [vaultId, { maxOpenSeconds: 1777 }] });
      return handle.result().then(
        () => undefined,
        (e: unknown) => e,
      );
    });
    // Through the codec the client reads the failure and its CycleResult as the workflow wrote them.
    expect(failure).toBeInstanceOf(WorkflowFailedError);
    const cause = (failure as WorkflowFailedError).cause as any;
    expect(cause.message).toContain(`unknown vault "${vaultId}": configured vaults are "lab-vault"`);
    const result = cause.details?.[0] as CycleResult;
    expect(result.outcome).toBe('failed');
    expect(result.lastError).toContain('configured vaults are');

    history = await client.workflow.getHandle(workflowId).fetchHistory();
    const texts = textsOf(history);
    expect(texts.some((t) => t.text === 'Encoded failure')).toBe(true);
    for (const plain of ['configured vaults are', 'unknown vault', '1777', 'PREFLIGHT failed', result.copyId]) {
      expect(placesOf(history, plain)).toEqual([]);
    }
    // The vault id stays readable only where Temporal never runs payloads through a codec: search attributes
    // (IrVault) and, for the vault hold, nothing else. Pinned, so a new plaintext place fails this test.
    expect(placesOf(history, vaultId)).toEqual(['events[].upsertWorkflowSearchAttributesEventAttributes.searchAttributes.indexedFields.IrVault.data']);
  });

  test('`temporal workflow show --output json` shows ciphertext; with --codec-endpoint it reads in clear', async () => {
    expect(history).toBeDefined();
    const common = ['workflow', 'show', '-w', workflowId, '--output', 'json', '--address', temporalAddress!, '--namespace', 'default'];
    const sealed = await run(cli, common);
    expect(sealed.code).toBe(0);
    const sealedText = cliTexts(sealed.out); // payloads are proto JSON there: metadata and data in base64
    expect(sealedText).toContain('binary/encrypted');
    expect(sealedText).not.toContain('configured vaults are');
    expect(sealedText).not.toContain('1777');
    // The CLI has no flag for the codec endpoint's CA; its Go TLS stack trusts SSL_CERT_FILE.
    const clear = await run(cli, [...common, '--codec-endpoint', codecUrl, '--codec-auth', `Bearer ${token}`], { SSL_CERT_FILE: ca.caCert });
    expect(clear.err).toBe('');
    expect(clear.code).toBe(0);
    const clearText = cliTexts(clear.out);
    expect(clearText).not.toContain('binary/encrypted');
    expect(clearText).toContain('{"maxOpenSeconds":1777}'); // the input policy
    expect(clearText).toContain(`"message":"unknown vault \\"${vaultId}\\": configured vaults are`); // the failure (encodedAttributes)
    expect(clearText).toContain('"outcome":"failed"'); // the CycleResult in the failure's details
    // Without the token the codec server refuses: the CLI retries its 401 until the command times out (it prints
    // "context deadline exceeded", not the 401) and shows nothing.
    const refused = await run(cli, [...common, '--codec-endpoint', codecUrl, '--command-timeout', '3s'], { SSL_CERT_FILE: ca.caCert });
    expect(refused.code).not.toBe(0);
    expect(refused.out).not.toContain('configured vaults are');
  });

  test('the codec server: token or client certificate, CORS for the UI origin only, clear refusals', async () => {
    // A payload as the server stores it: the workflow's input.
    const started = history.events!.find((e) => e.workflowExecutionStartedEventAttributes)!.workflowExecutionStartedEventAttributes!;
    const payload = started.input!.payloads![1];
    const body = JSON.stringify({
      payloads: [{ metadata: Object.fromEntries(Object.entries(payload.metadata!).map(([k, v]) => [k, Buffer.from(v).toString('base64')])), data: Buffer.from(payload.data!).toString('base64') }],
    });
    const curl = (...args: string[]) => run('curl', ['-sS', '--cacert', ca.caCert, '-w', '\n%{http_code}', '-X', 'POST', `${codecUrl}/decode`, '-H', 'Content-Type: application/json', '-H', 'X-Namespace: default', '--data-binary', body, ...args]);
    const status = (r: { out: string }) => r.out.trim().split('\n').pop();

    const anonymous = await curl();
    expect(status(anonymous)).toBe('401');
    expect(anonymous.out).toContain('authentication required: send an Authorization: Bearer <token> header or a client certificate signed by the stack CA');
    const wrong = await curl('-H', `Authorization: Bearer ${'x'.repeat(token.length)}`);
    expect(status(wrong)).toBe('403');
    expect(wrong.out).toContain('the bearer token is not valid');

    const withToken = await curl('-H', `Authorization: Bearer ${token}`);
    expect(status(withToken)).toBe('200');
    const decoded = JSON.parse(withToken.out.trim().split('\n')[0]) as { payloads: Array<{ metadata: Record<string, string>; data: string }> };
    expect(Buffer.from(decoded.payloads[0].metadata.encoding, 'base64').toString()).toBe('json/plain');
    expect(JSON.parse(Buffer.from(decoded.payloads[0].data, 'base64').toString())).toEqual({ maxOpenSeconds: 1777 });

    const withCert = await curl('--cert', ca.clientCert, '--key', ca.clientKey);
    expect(status(withCert)).toBe('200');
    const rogueCert = await curl('--cert', rogue.clientCert, '--key', rogue.clientKey);
    expect(status(rogueCert)).toBe('403');
    expect(rogueCert.out).toContain('the client certificate is not accepted');

    // CORS: the UI origin's preflight is answered with the headers the UI sends; another origin gets none.
    const preflight = async (origin: string) =>
      run('curl', ['-sS', '-i', '--cacert', ca.caCert, '-X', 'OPTIONS', `${codecUrl}/decode`, '-H', `Origin: ${origin}`, '-H', 'Access-Control-Request-Method: POST', '-H', 'Access-Control-Request-Headers: content-type,x-namespace,authorization']);
    const ui = await preflight(UI_ORIGIN);
    expect(ui.out).toMatch(/^HTTP\/1\.1 204/);
    expect(ui.out).toContain(`Access-Control-Allow-Origin: ${UI_ORIGIN}`);
    expect(ui.out).toContain('Access-Control-Allow-Headers: Content-Type, X-Namespace, Authorization');
    const evil = await preflight('https://evil.example');
    expect(evil.out).toMatch(/^HTTP\/1\.1 403/);
    expect(evil.out.toLowerCase()).not.toContain('access-control-allow-origin');
    const evilPost = await curl('-H', `Authorization: Bearer ${token}`, '-H', 'Origin: https://evil.example');
    expect(status(evilPost)).toBe('403');
    expect(evilPost.out).toContain('origin https://evil.example is not allowed to use this codec server');
    const uiPost = await curl('-i', '-H', `Authorization: Bearer ${token}`, '-H', `Origin: ${UI_ORIGIN}`);
    expect(uiPost.out).toContain(`Access-Control-Allow-Origin: ${UI_ORIGIN}`);
    expect(status(uiPost)).toBe('200');

    // The UI's browser without OIDC: /login sets a session cookie (never the token itself) the UI sends along.
    const login = (tok: string) =>
      run('curl', ['-sS', '-i', '--cacert', ca.caCert, '-X', 'POST', `${codecUrl}/login`, '-H', `Origin: ${codecUrl}`, '--data-urlencode', `token=${tok}`]);
    expect((await login('x'.repeat(token.length))).out).toMatch(/^HTTP\/1\.1 403[^]*the token is not valid/);
    const signedIn = await login(token);
    expect(signedIn.out).toMatch(/^HTTP\/1\.1 200/);
    const cookie = /set-cookie: (ir_codec_session=[0-9a-f]{64}); Path=\/; HttpOnly; Secure; SameSite=None/i.exec(signedIn.out)?.[1];
    expect(cookie).toBeDefined();
    expect(signedIn.out).not.toContain(token);
    const withCookie = await curl('-H', `Cookie: ${cookie}`, '-H', `Origin: ${UI_ORIGIN}`);
    expect(status(withCookie)).toBe('200');
    expect(status(await curl('-H', 'Cookie: ir_codec_session=00', '-H', `Origin: ${UI_ORIGIN}`))).toBe('401');

    // Over the body limit: refused before it is read whole.
    writeFileSync(join(dir, 'big.json'), JSON.stringify({ payloads: [{ data: 'A'.repeat(9 * 1024 * 1024) }] }));
    const big = await run('curl', ['-sS', '--cacert', ca.caCert, '-w', '\n%{http_code}', '-X', 'POST', `${codecUrl}/decode`, '-H', `Authorization: Bearer ${token}`, '--data-binary', `@${join(dir, 'big.json')}`]);
    expect(status(big)).toBe('413');
  });
});
