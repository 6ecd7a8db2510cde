// Every workflow the worker registers. Keep this file free of side effects: it is bundled for the sandbox.
export { isolatedRecoveryCycle } from './cycle';
export { scrubCopies } from './scrub';
