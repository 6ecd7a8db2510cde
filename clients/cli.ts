/**
 * What every irctl command shares: the command shape, the context it runs in, exit codes, errors and the
 * argument parser. Kept free of Temporal imports so `irctl --help` loads nothing heavy.
 */
import { parseArgs } from 'node:util';

/** Documented in the README ("irctl exit codes"); scripts and CI branch on them. */
export const ExitCode = {
  OK: 0,
  /** The operation ran and its outcome is bad: a cycle not validated, verify findings, an RPO not met under --strict. */
  FAILED: 1,
  /** Bad input (unknown vault, bad duration, bad JSON, bad config, unknown option): nothing was sent. */
  USAGE: 2,
  /** Temporal could not be reached or refused the connection (address, TLS, API key). */
  UNAVAILABLE: 3,
  /** The cycle, schedule or report named does not exist. */
  NOT_FOUND: 4,
  /** Refused: a validator rejected the request, a cycle already runs on the vault, a trigger was skipped. */
  REFUSED: 5,
} as const;
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/** An error with the exit code it maps to; the message says what is wrong and how to fix it. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCodeValue,
  ) {
    super(message);
  }
}
export class UsageError extends CliError {
  constructor(message: string) {
    super(message, ExitCode.USAGE);
  }
}

export interface CommandIO {
  out(line: string): void;
  err(line: string): void;
  /** True when stdout is a terminal: live progress redraws one line; otherwise plain lines. */
  isTTY?: boolean;
}

/** How to reach Temporal, the way the `temporal` CLI takes it (flags over environment variables). */
export interface ConnectionOptions {
  address: string;
  namespace: string;
  apiKey?: string;
  /** The config file's temporal.apiKeyFile (absolute), read on connect when no --api-key was given. */
  apiKeyFile?: string;
  tls: boolean;
  tlsCertPath?: string;
  tlsKeyPath?: string;
  tlsCaPath?: string;
  tlsServerName?: string;
  /** Where a TLS setting came from when it was the config file's (`temporal.tls.certFile (config/stack.yaml)`). */
  origins?: Partial<Record<'tlsCertPath' | 'tlsKeyPath' | 'tlsCaPath' | 'tlsServerName', string>>;
  /** The config file whose temporal.tls section is in use (a setting missing there is named as its field). */
  tlsConfigFile?: string;
  /** The config file's temporal.encryption (key files absolute): irctl decodes payloads with the workers' keys. */
  encryption?: { keys: Array<{ id: string; file: string }> };
}

export interface GlobalOptions {
  json: boolean;
  connection: ConnectionOptions;
  /** The vault configuration file (--config, IR_CONFIG, default config/lab.yaml). */
  configPath?: string;
  /** The cycle's task queue (--task-queue, IR_TASK_QUEUE, default isolated-recovery). */
  taskQueue?: string;
}

export interface CommandContext extends CommandIO, GlobalOptions {
  /** Throws a usage error (exit 2); the dispatcher prints the message and the command's usage. */
  usageError(message: string): never;
  /** Prints `value` as JSON with --json, else the lines `human()` makes. */
  emit(value: unknown, human: () => string[]): void;
}

export interface Command {
  summary: string;
  usage: string;
  /** Resolves to the exit code. */
  run(args: string[], ctx: CommandContext): Promise<number>;
}

/** A command with subcommands (`irctl cycle start ...`). */
export interface CommandGroup {
  summary: string;
  subcommands: Record<string, Command>;
}

export type CommandModule = Command | CommandGroup;
export const isGroup = (m: CommandModule): m is CommandGroup => 'subcommands' in m;

type Options = NonNullable<Parameters<typeof parseArgs>[0]>['options'];

/** parseArgs with its errors (unknown option, missing value) turned into usage errors naming the argument. */
export function parse(args: string[], ctx: Pick<CommandContext, 'usageError'>, options: Options): { values: Record<string, string | boolean | undefined>; positionals: string[] } {
  try {
    const { values, positionals } = parseArgs({ args, options, allowPositionals: true, strict: true });
    return { values: values as Record<string, string | boolean | undefined>, positionals };
  } catch (err) {
    return ctx.usageError(err instanceof Error ? err.message : String(err));
  }
}

/** Parses a JSON option, naming the option and showing the expected shape when it is not JSON. */
export function parseJsonOption(value: string, option: string, example: string, ctx: Pick<CommandContext, 'usageError'>): unknown {
  try {
    return JSON.parse(value);
  } catch (err) {
    return ctx.usageError(`${option} is not valid JSON (${(err as Error).message}); write it like ${example}`);
  }
}
