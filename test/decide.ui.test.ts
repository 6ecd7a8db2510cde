/**
 * The Temporal UI in a real browser (Debian's chromium, headless, driven by playwright-core; no browser
 * download), on a vault with operators configured: find the cycle waiting in DECIDE with the search
 * `IrPhase="DECIDE"`, open it, send `approve` through the UI's update dialog (its dropdown lists the handlers'
 * descriptions), see an unsigned approval refused with the validator's reason in the dialog, then paste the payload
 * `irctl decision sign` printed (alice's key, real ssh-keygen) and see the cycle complete. Screenshots go to
 * .data/ui/ (docs/ui-approve.png is one of them).
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { runIrctl } from '../clients/irctl';
import { ensureTemporalCli } from '../clients/temporal-cli';
import { freePort, startDevServer, type DevServer } from '../clients/devserver';
import { createWorker } from '../workers/worker';
import { isolatedRecoveryCycle } from '../workflows';
import { IrDecision } from '../workflows/cycle-messages';
import { bundleWorkflows, describeTemporal } from './helpers/temporal';
import { startTestLab, VAULT, type TestLab } from './helpers/lab';
import { waitForDecide } from './helpers/decide';
import { makeKey, type TestKey } from './helpers/ssh-sign';

jest.setTimeout(240_000);

const CHROMIUM = '/usr/bin/chromium';
const shots = resolve(__dirname, '..', '.data', 'ui');

describeTemporal('the Temporal UI: approve a copy waiting in DECIDE', () => {
  let server: DevServer;
  let connection: Connection;
  let native: NativeConnection;
  let t: TestLab;
  let browser: Browser;
  let alice: TestKey;

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install chromium (.ci/run does)`);
    try {
      Runtime.install({ logger: new DefaultLogger('WARN') });
    } catch {
      // installed already in this file's registry
    }
    // The shared test server is headless: this file starts one with the UI, on free ports.
    server = await startDevServer({ cliPath: await ensureTemporalCli(), uiPort: await freePort(), logFile: '.data/test-ui-server.log' });
    connection = await Connection.connect({ address: server.address });
    native = await NativeConnection.connect({ address: server.address });
    t = await startTestLab({ bandwidthBytesPerSec: 8 * 1024 * 1024 }, { approval: { when: 'always', approvers: ['alice'] } }, {}, (dir) => {
      alice = makeKey(dir, 'alice');
      return [{ name: 'alice', keys: [alice.publicKey], roles: ['approver', 'operator'] }];
    });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--headless', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    mkdirSync(shots, { recursive: true });
  });
  afterAll(async () => {
    await browser?.close();
    if (t) {
      expect(t.lab.vaultPortsDown()).toBe(true);
      expect(t.lab.replication().enabled).toBe(false);
      await t.close();
    }
    await native?.close();
    await connection?.close();
    await server?.stop();
  });

  /** Replaces the update dialog's JSON (a CodeMirror editor) and leaves it, so the UI takes the value. */
  async function typeJson(page: Page, json: string): Promise<void> {
    const dialog = page.getByTestId('update-confirmation-modal').filter({ visible: true });
    const editor = dialog.locator('[contenteditable="true"][data-language="json"]');
    await editor.click();
    await page.keyboard.press('ControlOrMeta+A');
    await page.keyboard.press('Delete');
    await page.keyboard.insertText(json); // insertText: no bracket auto-closing
    await dialog.getByTestId('update-id').click(); // blur: the editor hands its value to the form
  }

  /** What the operator runs beside the browser: `irctl decision sign`, whose stdout is the payload line. */
  async function signApproval(workflowId: string, reason: string, ticket: string): Promise<string> {
    const out: string[] = [];
    const err: string[] = [];
    const config = join(t.dir, 'config.yaml');
    writeFileSync(config, JSON.stringify(t.config));
    const args = ['decision', 'sign', '-w', workflowId, '--decision', 'approve', '--reason', reason, '--ticket', ticket, '--key', alice.privateKeyFile];
    const code = await runIrctl([...args, '--address', server.address, '--config', config], { out: (l) => out.push(l), err: (l) => err.push(l) });
    if (code !== 0) throw new Error(`irctl decision sign exited ${code}: ${err.join('\n')}`);
    return out.join('\n');
  }

  test('IrPhase="DECIDE" finds the cycle; the update dialog refuses an unsigned approval, then the signed one completes it', async () => {
    const client = new Client({ connection });
    const tq = `ui-${Date.now()}`;
    const worker = await createWorker({ connection: native, config: t.config, taskQueue: tq, workflowBundle: await bundleWorkflows() });
    await worker.runUntil(async () => {
      const handle = await client.workflow.start(isolatedRecoveryCycle, { taskQueue: tq, workflowId: `ir-cycle-ui-${Date.now()}`, args: [VAULT, {}] });
      await waitForDecide(handle);
      // Visibility is eventually consistent: wait until the list query sees the phase.
      const query = `IrPhase="DECIDE" AND WorkflowId="${handle.workflowId}"`;
      for (let i = 0; i < 100; i++) {
        let found = false;
        for await (const _ of client.workflow.list({ query })) found = true;
        if (found) break;
        await new Promise((r) => setTimeout(r, 200));
      }

      const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
      try {
        // The workflows page with the search an operator types: "what waits for me".
        await page.goto(`${server.uiUrl}/namespaces/default/workflows?query=${encodeURIComponent('IrPhase="DECIDE"')}`);
        const row = page.getByRole('link', { name: handle.workflowId }).filter({ visible: true });
        await row.first().waitFor({ timeout: 60_000 });
        await page.screenshot({ path: `${shots}/ui-decide-list.png` });
        await row.first().click();
        await page.getByText('Running').filter({ visible: true }).first().waitFor();

        // More Actions → Send an Update: the dropdown lists approve/reject/abort with their descriptions.
        await page.getByRole('button', { name: 'More Actions' }).filter({ visible: true }).click();
        await page.getByTestId('update-button').filter({ visible: true }).click();
        const dialog = page.getByTestId('update-confirmation-modal').filter({ visible: true });
        await dialog.getByTestId('update-select-button').click();
        await dialog.getByRole('option', { name: /^approve/ }).waitFor();
        for (const name of ['approve', 'reject', 'abort']) await expect(dialog.getByRole('option', { name: new RegExp(`^${name}`) }).count()).resolves.toBe(1);
        await expect(dialog.getByRole('option', { name: /^approve/ }).textContent()).resolves.toContain('irctl decision sign approve');
        await dialog.getByRole('option', { name: /^approve/ }).click();

        // Unsigned, as anyone who reaches the UI could write it: the dialog shows the validator's reason; nothing changes.
        await typeJson(page, '{"by":"alice","reason":"trust me"}');
        await dialog.getByTestId('confirm-modal-button').click();
        await dialog.getByText('unsigned: vault lab-vault takes only signed approve requests (operators are configured)').first().waitFor({ timeout: 30_000 });
        await page.screenshot({ path: `${shots}/ui-approve-refused.png` });
        expect((await handle.describe()).typedSearchAttributes.get(IrDecision)).toBe('pending');

        // alice signs with her key (irctl decision sign) and pastes the line: the update succeeds, the dialog
        // closes and the cycle completes, approved by the operator whose key signed.
        const payload = await signApproval(handle.workflowId, 'checked in the UI', 'CHG-2024');
        await typeJson(page, payload);
        await page.screenshot({ path: `${shots}/ui-approve.png` });
        await dialog.getByTestId('confirm-modal-button').click();
        await dialog.waitFor({ state: 'hidden', timeout: 30_000 });
        const result = await handle.result();
        expect(result.outcome).toBe('validated');
        expect(result.decisions?.[0]).toMatchObject({ state: 'approved', by: 'alice', reason: 'checked in the UI', ticket: 'CHG-2024' });
        expect(result.decisions?.[0].approvals[0].signed).toMatchObject({ operator: 'alice', fingerprint: alice.fingerprint, signature: JSON.parse(payload).signature });
        await page.reload();
        await page.getByText('Completed').filter({ visible: true }).first().waitFor({ timeout: 30_000 });
        await page.screenshot({ path: `${shots}/ui-approve-completed.png` });
      } finally {
        await page.close();
      }
    });
  });
});
