#!/usr/bin/env node
import { main, processContext, signalOnTermination } from '../build/agent/src/cli/index.js';
process.exitCode = await main(process.argv.slice(2), processContext(signalOnTermination()));
