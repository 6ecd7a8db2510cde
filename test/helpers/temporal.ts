/** Connections to the run's dev server; workflow tests are skipped (not failed) when it is absent. */
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { runBundle } from './bundle';

export const temporalAddress = process.env.TEMPORAL_TEST_ADDRESS;
export const describeTemporal = temporalAddress ? describe : describe.skip;

export async function connectTemporal(): Promise<{ client: Client; connection: Connection; native: NativeConnection; close(): Promise<void> }> {
  if (!temporalAddress) throw new Error('TEMPORAL_TEST_ADDRESS is not set (test/global-setup.ts starts the server)');
  // Workers log every state change at INFO; tests keep warnings and errors only. Once per test file.
  try {
    Runtime.install({ logger: new DefaultLogger('WARN') });
  } catch {
    // already installed in this file's module registry
  }
  const connection = await Connection.connect({ address: temporalAddress });
  const native = await NativeConnection.connect({ address: temporalAddress });
  const client = new Client({ connection });
  return {
    client,
    connection,
    native,
    async close() {
      await native.close();
      await connection.close();
    },
  };
}

/** The project's workflows, bundled once per jest run by global setup (test/helpers/bundle.ts). */
export function bundleWorkflows(): Promise<WorkflowBundleWithSourceMap> {
  return runBundle();
}
