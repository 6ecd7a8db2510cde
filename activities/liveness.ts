/**
 * Liveness heartbeats: while an activity runs, it heartbeats at least every second, repeating the last details
 * it gave (its resume checkpoint). The workflow can then use heartbeat timeouts of a few seconds on everything
 * that touches the gap: a killed worker is noticed in seconds and the retry starts on another worker, while a
 * slow device step (a fastcopy, a login under load) no longer needs its own heartbeat to stay alive. A step
 * that hangs is bounded by the drivers' command timeouts, not by the heartbeat.
 */
import { Context } from '@temporalio/activity';

const EVERY_MS = 1000;

type AsyncFns = Record<string, (...args: any[]) => Promise<any>>;

async function keptAlive<T>(fn: () => Promise<T>): Promise<T> {
  let ctx: Context;
  try {
    ctx = Context.current();
  } catch {
    return fn(); // called outside an activity (a unit test): nothing to keep alive
  }
  const send = ctx.heartbeat;
  let last: unknown = ctx.info.heartbeatDetails; // a retry repeats the checkpoint it resumed from
  // Activities heartbeat through ctx.heartbeat (or heartbeat(), which calls it): remember what they say.
  (ctx as { heartbeat: (d?: unknown) => void }).heartbeat = (details?: unknown) => {
    last = details;
    send(details);
  };
  const timer = setInterval(() => send(last), EVERY_MS);
  try {
    return await fn();
  } finally {
    clearInterval(timer);
    (ctx as { heartbeat: (d?: unknown) => void }).heartbeat = send;
  }
}

export function withLiveness<T extends AsyncFns>(activities: T): T {
  const wrapped: Record<string, (...args: any[]) => Promise<any>> = {};
  for (const [name, fn] of Object.entries(activities)) {
    wrapped[name] = (...args: any[]) => keptAlive(() => fn(...args));
    Object.defineProperty(wrapped[name], 'name', { value: name });
  }
  return wrapped as T;
}
