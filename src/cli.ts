#!/usr/bin/env node
// The package's bin and the container's entrypoint: run | plan | render | status (src/cli/).
import { cli } from './cli/main.js';
import { processIO } from './cli/flags.js';

const code = await cli(process.argv.slice(2), processIO());
// Let stdout drain into a pipe before exiting; then exit even if a watch or timer lingers.
process.stdout.write('', () => process.exit(code));
