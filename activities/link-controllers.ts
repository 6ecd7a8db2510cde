/**
 * Link controllers: what cuts the air gap, behind one contract (open, close, state), chosen per vault by
 * `link.controller` in the config. The cycle's openLink/closeLink and the sentinel's gapIsOpen/closeLink use
 * only this contract, so they run the same with either controller.
 *   - `switch`: the vault switch's replication ports (`no shutdown` / `shutdown`, Junos `disable`), with the
 *     platform's own revert timer armed at open so the switch closes the gap by itself if nobody does.
 *   - `dd-interface`: the vault Data Domain's replication interface (`net enable|disable <if>`, state from
 *     `net show settings`), the way Dell's vault software cuts its gap. DD OS has no revert timer for it, so the
 *     exposure bound rests on the workflow's maxOpen timer and the sentinel.
 */
import type { VaultAccess } from './deps';
import { netInterfaceState, setNetInterface } from './drivers/datadomain/net';
import type { PortState } from './drivers/switch';

export type LinkControllerKind = 'switch' | 'dd-interface';

/** One open session on the controlling device. */
export interface LinkSession {
  /** Bring every part of the link up; with `revertAfterSeconds`, arm the device's own timer that undoes it. */
  open(opts?: { revertAfterSeconds?: number }): Promise<{ revert?: { name: string; seconds: number } }>;
  /** Cut every part of the link (and take back any device timer). */
  close(parts?: string[]): Promise<void>;
  /** Each part's admin/oper state, with the device's own line. */
  state(): Promise<PortState[]>;
  /** Persist the closed state where the device distinguishes running and saved config. */
  persist(): Promise<void>;
}

export interface LinkController {
  kind: LinkControllerKind;
  /** What the link is made of (port or interface names), for messages. */
  parts: string[];
  /** `keepMs`: how long the session stays parked afterwards (openLink keeps it for closeLink). */
  use<T>(fn: (s: LinkSession) => Promise<T>, opts?: { keepMs?: number }): Promise<T>;
}

export function linkController(access: VaultAccess): LinkController {
  const v = access.vault;
  if (v.link.controller === 'dd-interface') {
    const iface = v.link.interface;
    return {
      kind: 'dd-interface',
      parts: [iface],
      use: (fn, opts) =>
        access.withVaultDd((dd) =>
          fn({
            open: async () => {
              await setNetInterface(dd, iface, 'up');
              return {};
            },
            close: () => setNetInterface(dd, iface, 'down'),
            state: async () => [await netInterfaceState(dd, iface)],
            persist: async () => undefined, // `net disable` is persistent on DD OS [S]
          }),
          opts,
        ),
    };
  }
  const sw = v.switch!;
  return {
    kind: 'switch',
    parts: sw.ports,
    use: (fn, opts) =>
      access.withSwitch((s) =>
        fn({
          open: (opts = {}) => s.setPorts(sw.ports, 'up', opts),
          close: async (parts = sw.ports) => {
            await s.setPorts(parts, 'down');
          },
          state: () => s.portStates(sw.ports),
          persist: async () => {
            if (sw.saveConfig) await s.saveConfig();
          },
        }),
        opts,
      ),
  };
}
