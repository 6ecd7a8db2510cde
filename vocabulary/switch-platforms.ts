/**
 * The switch platforms the project speaks to (config `switch.platform`, the driver's platform data, the lab's
 * simulated switches): one list, the type derives from it. Each side keeps its own facts about a platform.
 */
export const PLATFORM_NAMES = ['cisco-ios', 'cisco-nxos', 'arista-eos', 'junos'] as const;
export type PlatformName = (typeof PLATFORM_NAMES)[number];
