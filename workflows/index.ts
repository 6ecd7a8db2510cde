// Every workflow the worker registers. Keep this file free of side effects: it is bundled for the sandbox.
export { isolatedRecoveryCycle } from './cycle';
export { recoveryDrill } from './drill';
export { gapSentinel } from './sentinel';
export { scrubCopies } from './scrub';
