import { rmSync } from 'node:fs';

export default async function globalTeardown(): Promise<void> {
  const servers = ((globalThis as any).__IR_DEV_SERVERS__ ?? []) as Array<{ stop(): Promise<void> }>;
  await Promise.all(servers.map((s) => s.stop()));
  const dir = (globalThis as any).__IR_RUN_DIR__ as string | undefined;
  if (dir) rmSync(dir, { recursive: true, force: true });
}
