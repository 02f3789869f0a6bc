#!/usr/bin/env node
// The `gatehouse` command: a thin launcher for the built CLI in dist/.
import { runCli } from '../dist/cli/main.js';

process.exitCode = await runCli(process.argv.slice(2), process);
