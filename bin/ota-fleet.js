#!/usr/bin/env node
import { processContext, signalOnTermination } from '../build/agent/src/cli/index.js';
import { main } from '../build/fleet/src/cli/index.js';
process.exitCode = await main(process.argv.slice(2), processContext(signalOnTermination()));
