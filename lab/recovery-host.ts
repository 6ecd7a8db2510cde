/**
 * A recovery host for bare-metal checks: an SSH server answering Relax-and-Recover's commands.
 *
 * THIS IS A SIMULATION. Nothing is partitioned, formatted or restored. It reproduces what a drill's check sees
 * of ReaR 2.7 run over SSH: the commands (`rear -V`, `rear [-v] checklayout`, `rear [-v] [--non-interactive]
 * recover`), their exit codes (0 done / layout identical; 1 error / layout changed) and the shape of their
 * output (banner, log file line, progress lines, `Finished 'recover'...`, `ERROR: ...` on failure), so that a
 * check like "`rear -v recover` in unattended mode exits 0 and says Finished" can be configured and tested.
 * `recover` needs unattended mode (the rescue system booted with the `unattended` kernel option, the default
 * here) or `--non-interactive`; without either it stops at ReaR's first question, as the real one would with
 * no terminal. Faults from the lab (device `recovery-host`) make any command fail with chosen output.
 */
import type { Faults } from './faults';
import type { DeviceHandler, Terminal } from './ssh-server';

export const REAR_VERSION = 'Relax-and-Recover 2.7 / 2022-07-13';

export interface RecoveryHostOptions {
  hostname: string;
  faults: Faults;
  /** The rescue system was booted with the `unattended` kernel option. */
  unattended?: boolean;
  log?: (line: string) => void;
}

let pid = 4200;

function banner(host: string, workflow: string, verbose: boolean, p: number): string[] {
  if (!verbose) return [];
  const date = new Date().toISOString().replace('T', ' ').slice(0, 19);
  return [REAR_VERSION, `Running rear ${workflow} (PID ${p} date ${date})`, `Using log file: /var/log/rear/rear-${host}.log`];
}

function footer(workflow: string, verbose: boolean, p: number): string[] {
  return verbose ? [`Exiting rear ${workflow} (PID ${p}) and its descendant processes ...`, 'Running exit tasks'] : [];
}

export function recoveryHostDevice(o: RecoveryHostOptions): DeviceHandler {
  const log = o.log ?? (() => undefined);
  const run = async (line: string, term: Terminal): Promise<number> => {
    const cmd = line.trim();
    const fault = o.faults.take('recovery-host', cmd);
    if (fault) {
      log(`${o.hostname}: fault injected for "${cmd}"`);
      term.write(fault.output.endsWith('\n') || fault.output === '' ? fault.output : fault.output + '\n');
      return fault.exitCode;
    }
    const words = cmd.split(/\s+/);
    if (words[0] !== 'rear') {
      term.write(`bash: ${words[0]}: command not found\n`);
      return 127;
    }
    const flags = words.slice(1).filter((w) => w.startsWith('-'));
    const verbs = words.slice(1).filter((w) => !w.startsWith('-'));
    if (flags.includes('-V') || flags.includes('--version')) {
      term.write(REAR_VERSION + '\n');
      return 0;
    }
    const known = ['-v', '-d', '-D', '--non-interactive'];
    const unknown = flags.find((f) => !known.includes(f));
    if (unknown || verbs.length !== 1) {
      term.write(`ERROR: ${unknown ? `Unknown option '${unknown}'` : verbs.length ? `Only one workflow allowed, got '${verbs.join(' ')}'` : 'No workflow given'}\nUse 'rear --help' for more information.\n`);
      return 1;
    }
    const verbose = flags.includes('-v') || flags.includes('-d') || flags.includes('-D');
    const p = pid++;
    const out = (lines: string[]) => term.write(lines.map((l) => l + '\n').join(''));
    switch (verbs[0]) {
      case 'checklayout':
        // ReaR: exit 0 when the disk layout is identical to the one saved at mkrescue, 1 when it changed.
        out([...banner(o.hostname, 'checklayout', verbose, p), ...(verbose ? ['Disk layout is identical'] : []), ...footer('checklayout', verbose, p)]);
        return 0;
      case 'recover': {
        out(banner(o.hostname, 'recover', verbose, p));
        out([
          'Running workflow recover within the ReaR rescue/recovery system',
          'Comparing disks',
          "Device sda has expected (same) size 42949672960 bytes (will be used for 'recover')",
          'Disk configuration looks identical',
          "Proceed with 'recover' (yes) otherwise manual disk layout configuration is enforced",
          "(default 'yes' timeout 30 seconds)",
        ]);
        if (!o.unattended && !flags.includes('--non-interactive')) {
          out(['ERROR: User input required but no terminal (boot the rescue system with "unattended" or use --non-interactive)', ...footer('recover', verbose, p)]);
          return 1;
        }
        out([
          'UserInput: No real user input (empty or only spaces) - using default input',
          "User confirmed to proceed with 'recover'",
          'Start system layout restoration.',
          'Creating partitions for disk /dev/sda (gpt)',
          'Creating filesystem of type xfs with mount point / on /dev/sda2.',
          'Mounting filesystem /',
          'Disk layout created.',
          `Restoring from '/var/tmp/rear.${p}/outputfs/${o.hostname}/backup.tar.gz' (restore log in /var/lib/rear/restore/recover.backup.tar.gz.${p}.restore.log) ...`,
          'Restored 2210 MiB in 95 seconds [avg. 23821 KiB/sec]',
          `Restoring finished (verify backup restore log messages in /var/lib/rear/restore/recover.backup.tar.gz.${p}.restore.log)`,
          'Recreating directories (with permissions) from /var/lib/rear/recovery/directories_permissions_owner_group',
          'Installing GRUB2 boot loader...',
          "Finished 'recover'. The target system is mounted at '/mnt/local'.",
          ...footer('recover', verbose, p),
        ]);
        return 0;
      }
      default:
        out([`ERROR: The specified command '${verbs[0]}' does not exist!`]);
        return 1;
    }
  };
  return {
    async shell(term) {
      const prompt = `RESCUE ${o.hostname}:~ # `;
      term.write(prompt);
      for (;;) {
        const line = await term.readLine();
        if (line === null || ['exit', 'logout'].includes(line.trim())) return;
        if (line.trim()) await run(line, term);
        term.write(prompt);
      }
    },
    exec: (command, term) => run(command, term),
  };
}
