/**
 * irctl: the operators' command. `irctl [global options] <command> [subcommand] [args]`; commands live
 * in clients/commands/ and are registered in clients/commands/index.ts. Exit codes: see ExitCode (cli.ts).
 * Global options (anywhere on the line): --json, --config FILE, --task-queue NAME and the temporal CLI's
 * connection flags (--address, --namespace, --api-key, --tls, --tls-cert-path, --tls-key-path,
 * --tls-ca-path, --tls-server-name; or their TEMPORAL_* environment variables).
 */
import { CliError, ExitCode, isGroup, UsageError, type Command, type CommandContext, type CommandIO, type GlobalOptions } from './cli';
import { commandAliases, commandRegistry } from './commands';
import { CONNECTION_FLAGS, connectionFromEnv, explicitFromEnv, withConfigFile } from './connection';

export type { Command, CommandContext, CommandIO } from './cli';

const consoleIO: CommandIO = {
  out: (line) => process.stdout.write(line + '\n'),
  err: (line) => process.stderr.write(line + '\n'),
  isTTY: Boolean(process.stdout.isTTY),
};

const GLOBAL_HELP = `global options (anywhere on the line):
  --json                   machine-readable output on stdout (errors too: {"error","exitCode"})
  --config FILE            vault configuration (IR_CONFIG; default config/lab.yaml)
  --task-queue NAME        the cycle workers' task queue (IR_TASK_QUEUE; default isolated-recovery)
  --address HOST:PORT      Temporal frontend (TEMPORAL_ADDRESS; default 127.0.0.1:7233)
  -n, --namespace NS       (TEMPORAL_NAMESPACE; default "default")
  --api-key KEY            (TEMPORAL_API_KEY; implies --tls)
  --tls                    (TEMPORAL_TLS) --tls-cert-path, --tls-key-path, --tls-ca-path, --tls-server-name
                           (TEMPORAL_TLS_CERT, TEMPORAL_TLS_KEY, TEMPORAL_TLS_CA, TEMPORAL_TLS_SERVER_NAME)

exit codes: 0 ok, 1 failed (cycle not validated, findings, RPO missed with --strict), 2 bad input (nothing
sent), 3 Temporal unreachable, 4 not found, 5 refused (validator rejection, cycle already running, trigger skipped)`;

/** On stdout when asked for (--help), on stderr after a usage error. */
function help(print: (line: string) => void): void {
  print('usage: irctl <command> [subcommand] [args] [global options]\n\ncommands:');
  for (const [name, c] of Object.entries(commandRegistry)) print(`  ${name.padEnd(10)} ${c.summary}`);
  print(`  (${Object.entries(commandAliases).map(([a, t]) => `${a} = ${t.join(' ')}`).join(', ')})`);
  print(`\n${GLOBAL_HELP}\n\nirctl <command> --help for details`);
}

/** Takes the global options out of argv (they may stand anywhere); the rest goes to the command. */
export function splitGlobalOptions(argv: string[], env: NodeJS.ProcessEnv = process.env): { globals: GlobalOptions; rest: string[] } {
  const globals: GlobalOptions = {
    json: false,
    connection: connectionFromEnv(env),
    configPath: env.IR_CONFIG || undefined,
    taskQueue: env.IR_TASK_QUEUE || undefined,
  };
  const rest: string[] = [];
  const explicit = explicitFromEnv(env); // flags and TEMPORAL_* win over the config file's temporal section
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') {
      rest.push(...argv.slice(i));
      break;
    }
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const flag = eq > 0 ? arg.slice(0, eq) : arg;
    const takeValue = (): string => {
      if (eq > 0) return arg.slice(eq + 1);
      const v = argv[++i];
      if (v === undefined || v.startsWith('--')) throw new UsageError(`option ${flag} needs a value`);
      return v;
    };
    if (flag === '--json') globals.json = true;
    else if (flag === '--tls') {
      globals.connection.tls = true;
      explicit.add('tls');
    }
    else if (flag === '--config') globals.configPath = takeValue();
    else if (flag === '--task-queue') globals.taskQueue = takeValue();
    else if (Object.hasOwn(CONNECTION_FLAGS, flag)) {
      const key = CONNECTION_FLAGS[flag];
      (globals.connection as unknown as Record<string, string>)[key] = takeValue();
      explicit.add(key);
      if (key === 'apiKey' || key === 'tlsCertPath' || key === 'tlsCaPath') globals.connection.tls = true;
    } else rest.push(arg);
  }
  globals.connection = withConfigFile(globals.connection, explicit, globals.configPath);
  return { globals, rest };
}

function groupHelp(print: (line: string) => void, name: string, summary: string, subs: Record<string, Command>): void {
  print(`irctl ${name}: ${summary}\n`);
  for (const [sub, c] of Object.entries(subs)) print(`  ${sub.padEnd(10)} ${c.summary}\n             usage: ${c.usage}`);
}

export async function runIrctl(argv: string[], io: CommandIO = consoleIO, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  let globals: GlobalOptions;
  let rest: string[];
  try {
    ({ globals, rest } = splitGlobalOptions(argv, env));
  } catch (err) {
    io.err(`irctl: ${(err as Error).message}`);
    return ExitCode.USAGE;
  }
  if (rest[0] && Object.hasOwn(commandAliases, rest[0])) rest = [...commandAliases[rest[0]], ...rest.slice(1)];
  const [name, ...args] = rest;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    help(name ? io.out : io.err);
    return name ? ExitCode.OK : ExitCode.USAGE;
  }
  const entry = Object.hasOwn(commandRegistry, name) ? commandRegistry[name] : undefined;
  if (!entry) {
    io.err(`irctl: unknown command '${name}'; run irctl --help for the list`);
    return ExitCode.USAGE;
  }
  const module = await entry.load();
  let command: Command;
  let label = name;
  let commandArgs = args;
  if (isGroup(module)) {
    const [sub, ...subArgs] = args;
    if (!sub || sub === '--help' || sub === '-h' || sub === 'help') {
      groupHelp(sub ? io.out : io.err, name, module.summary, module.subcommands);
      return sub ? ExitCode.OK : ExitCode.USAGE;
    }
    if (!Object.hasOwn(module.subcommands, sub)) {
      io.err(`irctl ${name}: unknown subcommand '${sub}'; use one of ${Object.keys(module.subcommands).join(', ')}`);
      return ExitCode.USAGE;
    }
    command = module.subcommands[sub];
    label = `${name} ${sub}`;
    commandArgs = subArgs;
  } else command = module;

  if (commandArgs.includes('--help') || commandArgs.includes('-h')) {
    io.out(`usage: ${command.usage}`);
    return ExitCode.OK;
  }
  const ctx: CommandContext = {
    ...io,
    ...globals,
    usageError: (message) => {
      throw new UsageError(message);
    },
    emit: (value, human) => {
      if (globals.json) io.out(JSON.stringify(value, null, 2));
      else for (const line of human()) io.out(line);
    },
  };
  try {
    return await command.run(commandArgs, ctx);
  } catch (err) {
    const code = err instanceof CliError ? err.exitCode : ExitCode.FAILED;
    const message = err instanceof Error ? err.message : String(err);
    io.err(`irctl ${label}: ${message}`);
    if (code === ExitCode.USAGE) io.err(`usage: ${command.usage}`);
    if (globals.json) io.out(JSON.stringify({ error: message, exitCode: code }));
    return code;
  }
}

/** The bin entry point (bin/irctl.js). */
export function main(): void {
  void runIrctl(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}

if (require.main === module) main();
