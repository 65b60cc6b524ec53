/**
 * Entry point: read the inputs into one typed Config, then run the pipeline.
 * Secrets are masked the moment they are read, before anything can print them.
 */
import * as core from '@actions/core';
import { parseConfig } from './config.js';
import { ActionError } from './errors.js';
import { run } from './main.js';

const SECRET_INPUTS = ['registry-password', 'github-token'];

function readInput(name: string): string {
  const value = core.getInput(name);
  if (value && SECRET_INPUTS.includes(name)) core.setSecret(value);
  return value;
}

async function main(): Promise<void> {
  let config;
  try {
    config = parseConfig(readInput, process.env);
  } catch (err) {
    core.setFailed(err instanceof ActionError ? err.message : `could not read the inputs: ${(err as Error).message}`);
    return;
  }
  await run(config);
}

await main();
