/**
 * A client of the stack as the project's own clients make one: config/stack.yaml's temporal section (mTLS with
 * the irctl certificate, the clients' token) and its temporal.encryption keys, so results read in clear.
 */
import { Client, Connection } from '@temporalio/client';
import { dataConverterFor } from '../codec/data-converter';
import { loadConfig } from '../config/load';
import type { Config } from '../config/schema';
import { temporalConnectionOptions } from '../config/temporal';
import { STACK_CONFIG } from './layout';

export interface StackClient {
  config: Config;
  connection: Connection;
  client: Client;
  namespace: string;
  close(): Promise<void>;
}

/** How the project's clients reach the stack: config/stack.yaml's address, mTLS, token and encryption keys. */
export function stackConnection() {
  const config = loadConfig(STACK_CONFIG);
  const { address, namespace, tls, apiKey } = temporalConnectionOptions(config, {});
  return { config, address, namespace, tls, apiKey, dataConverter: dataConverterFor(config) };
}

export async function connectStack(): Promise<StackClient> {
  const { config, address, namespace, tls, apiKey, dataConverter } = stackConnection();
  const connection = await Connection.connect({ address, tls, apiKey });
  const client = new Client({ connection, namespace, dataConverter });
  return { config, connection, client, namespace, close: () => connection.close() };
}
