/** `irctl report show VAULT [COPY]`: a cycle's report from the evidence store (Markdown, or JSON with --json). */
import { readFile } from 'node:fs/promises';
import { readCatalog } from '../../activities/catalog';
import { CliError, ExitCode, parse, type Command, type CommandGroup } from '../cli';
import { configOf, vaultArg } from '../vaults';

const show: Command = {
  summary: "print a cycle's report (the newest, or COPY's)",
  usage: 'irctl report show VAULT [COPY_ID] [--json]',
  async run(args, ctx) {
    const { positionals } = parse(args, ctx, {});
    if (positionals.length > 2) ctx.usageError(`unexpected argument '${positionals[2]}'`);
    const config = configOf(ctx);
    const vault = vaultArg(positionals.slice(0, 1), ctx, config);
    const copyId = positionals[1];
    const entries = await readCatalog(config.evidenceDir, vault.id);
    const entry = copyId ? entries.find((e) => e.copyId === copyId) : entries.at(-1);
    if (!entry) {
      throw new CliError(
        copyId
          ? `vault ${vault.id} has no copy ${copyId} in ${config.evidenceDir}/${vault.id}/catalog.json; irctl cycle list --vault ${vault.id} lists cycles`
          : `no cycle of vault ${vault.id} is recorded in ${config.evidenceDir} (the evidence store of ${ctx.configPath ?? 'config/lab.yaml'})`,
        ExitCode.NOT_FOUND,
      );
    }
    const path = ctx.json ? entry.report : entry.report.replace(/\.json$/, '.md');
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      throw new CliError(`cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, ExitCode.NOT_FOUND);
    }
    if (ctx.json) ctx.out(JSON.stringify(JSON.parse(text), null, 2));
    else for (const line of text.replace(/\n$/, '').split('\n')) ctx.out(line);
    return ExitCode.OK;
  },
};

export const command: CommandGroup = { summary: 'reports in the evidence store', subcommands: { show } };
