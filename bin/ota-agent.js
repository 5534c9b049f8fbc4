#!/usr/bin/env node
// Bound memory before the agent's code is loaded (plain `node` from a shell has none of the unit's flags).
import { boundRuntimeMemory } from '../build/agent/src/runtime/index.js';
boundRuntimeMemory();
const { main, processContext, signalOnTermination } = await import('../build/agent/src/cli/index.js');
process.exitCode = await main(process.argv.slice(2), processContext(signalOnTermination()));
