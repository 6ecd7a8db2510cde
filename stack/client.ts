/**
 * A client of the stack as the project's own clients make one: config/stack.yaml's temporal section (mTLS with
 * the worker certificate) and its temporal.encryption keys, so results read in clear.
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

export async function connectStack(): Promise<StackClient> {
  const config = loadConfig(STACK_CONFIG);
  const o = temporalConnectionOptions(config, {});
  const connection = await Connection.connect({ address: o.address, tls: o.tls });
  const client = new Client({ connection, namespace: o.namespace, dataConverter: dataConverterFor(config) });
  return { config, connection, client, namespace: o.namespace, close: () => connection.close() };
}
