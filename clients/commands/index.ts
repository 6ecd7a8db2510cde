/**
 * irctl's commands: one module per command group, loaded only when its command runs (so `irctl --help`
 * stays fast). A new group is one line here plus its module exporting `command` (a Command or CommandGroup).
 */
import type { CommandModule } from '../cli';

export interface CommandEntry {
  summary: string;
  load: () => Promise<CommandModule>;
}

export const commandRegistry: Record<string, CommandEntry> = {
  cycle: { summary: 'start, watch, list, approve, reject or abort cycles (decisions signed with your SSH key)', load: async () => (await import('./cycle')).command },
  decision: { summary: 'sign an approve/reject/abort payload for the Temporal UI or the temporal CLI', load: async () => (await import('./decision')).command },
  schedule: { summary: "reconcile and operate the vaults' Temporal schedules (apply, list, describe, ...)", load: async () => (await import('./schedule')).command },
  drill: { summary: 'recovery drills: run one (CI), list the history, show coverage', load: async () => (await import('./drill')).command },
  report: { summary: "show a cycle's report from the evidence store", load: async () => (await import('./report')).command },
  manifest: { summary: 'write a manifest (sha256sum/b3sum format + Merkle root header) of a tree', load: async () => (await import('./manifest')).manifestCommand },
  verify: { summary: 'check a tree against a manifest, or --copy ID against the root in history', load: async () => (await import('./verify')).verifyCommand },
  auth: { summary: "mint a token for the stack's frontend (role reader, writer or admin)", load: async () => (await import('./auth')).command },
  evidence: { summary: 'check the evidence chain against Temporal history (verify), scrub locked copies', load: async () => (await import('./evidence')).command },
};

/** Older spellings kept working: `irctl start VAULT` is `irctl cycle start VAULT`. */
export const commandAliases: Record<string, string[]> = {
  start: ['cycle', 'start'],
  status: ['cycle', 'status'],
  abort: ['cycle', 'abort'],
};
