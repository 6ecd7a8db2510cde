/** Runs before each test file: this jest worker's own dev server (test/global-setup.ts starts one per worker). */
const addresses = process.env.TEMPORAL_TEST_ADDRESSES?.split(',').filter(Boolean);
if (addresses?.length) process.env.TEMPORAL_TEST_ADDRESS = addresses[(Number(process.env.JEST_WORKER_ID ?? '1') - 1) % addresses.length];
