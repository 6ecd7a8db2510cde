#!/usr/bin/env node
// The package's `irctl` command: runs the compiled client in dist/ (rebuilt first when a source changed,
// which only happens in a source checkout), so no TypeScript loader runs at run time.
require('../scripts/build').ensureBuilt({ quiet: true });
require('../dist/clients/irctl.js').main();
