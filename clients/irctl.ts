/**
 * irctl: the command-line client. `irctl <command> [args]`; each command lives in its own module under
 * clients/commands/ and is registered in `commands`. Exit codes: 0 ok, 1 findings/failure, 2 usage error.
 */
import { abortCommand, startCommand, statusCommand } from './commands/cycle';
import { evidenceCommand } from './commands/evidence';
import { manifestCommand } from './commands/manifest';
import { verifyCommand } from './commands/verify';

export interface CommandIO {
  out(line: string): void;
  err(line: string): void;
}

export interface CommandContext extends CommandIO {
  /** Throws; the dispatcher prints the message and the command's usage and exits 2. */
  usageError(message: string): never;
}

export interface Command {
  summary: string;
  usage: string;
  /** Resolves to the exit code. */
  run(args: string[], ctx: CommandContext): Promise<number>;
}

export const commands: Record<string, Command> = {
  start: startCommand,
  status: statusCommand,
  abort: abortCommand,
  manifest: manifestCommand,
  verify: verifyCommand,
  evidence: evidenceCommand,
};

class UsageError extends Error {}

const consoleIO: CommandIO = {
  out: (line) => process.stdout.write(line + '\n'),
  err: (line) => process.stderr.write(line + '\n'),
};

function help(io: CommandIO): void {
  io.err('usage: irctl <command> [args]\n\ncommands:');
  for (const [name, c] of Object.entries(commands)) io.err(`  ${name.padEnd(10)} ${c.summary}`);
  io.err('\nirctl <command> --help for details');
}

export async function runIrctl(argv: string[], io: CommandIO = consoleIO): Promise<number> {
  const [name, ...args] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    help(io);
    return name ? 0 : 2;
  }
  const command = Object.hasOwn(commands, name) ? commands[name] : undefined;
  if (!command) {
    io.err(`irctl: unknown command '${name}'`);
    help(io);
    return 2;
  }
  if (args.includes('--help') || args.includes('-h')) {
    io.out(`usage: ${command.usage}`);
    return 0;
  }
  const ctx: CommandContext = {
    ...io,
    usageError: (message) => {
      throw new UsageError(message);
    },
  };
  try {
    return await command.run(args, ctx);
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`irctl ${name}: ${err.message}`);
      io.err(`usage: ${command.usage}`);
      return 2;
    }
    io.err(`irctl ${name}: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  }
}

if (require.main === module) {
  void runIrctl(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
