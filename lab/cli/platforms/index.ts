/** The lab's switch platforms: one engine (../engine.ts), four sets of data. */
import type { PlatformName } from '../../../vocabulary/switch-platforms';
import type { LabPlatform } from '../engine';
import { eos } from './eos';
import { ios } from './ios';
import { junos } from './junos';
import { nxos } from './nxos';

export const LAB_PLATFORMS: Record<PlatformName, LabPlatform> = { 'cisco-ios': ios, 'cisco-nxos': nxos, 'arista-eos': eos, junos };
