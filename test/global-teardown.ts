export default async function globalTeardown(): Promise<void> {
  const server = (globalThis as any).__IR_DEV_SERVER__ as { stop(): Promise<void> } | undefined;
  if (server) await server.stop();
}
