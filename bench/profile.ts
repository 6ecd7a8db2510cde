/** A CPU profile of this process through the inspector; stop() writes it where Chrome DevTools can open it. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

export async function startProfiler(): Promise<{ stop: (file: string) => Promise<void> }> {
  const { Session } = await import('node:inspector/promises');
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  return {
    async stop(file) {
      const { profile } = await session.post('Profiler.stop');
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, JSON.stringify(profile));
      session.disconnect();
    },
  };
}
