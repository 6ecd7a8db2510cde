import { rmSync } from 'node:fs';

export default async function globalTeardown(): Promise<void> {
  const server = (globalThis as any).__IR_DEV_SERVER__ as { stop(): Promise<void> } | undefined;
  if (server) await server.stop();
  const dir = (globalThis as any).__IR_RUN_DIR__ as string | undefined;
  if (dir) rmSync(dir, { recursive: true, force: true });
}
