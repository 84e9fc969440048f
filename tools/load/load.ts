#!/usr/bin/env node
// `npm run load`: the CLI (cli.ts) bound to this process. The first SIGINT/SIGTERM ends the run
// and still prints its summary; a second one, with the handlers gone, kills the process.
import { main } from './cli.ts';

const controller = new AbortController();
const stop = (): void => {
  process.off('SIGINT', stop);
  process.off('SIGTERM', stop);
  controller.abort();
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);

try {
  process.exitCode = await main(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, signal: controller.signal });
} catch (error) {
  process.stderr.write(`load: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
} finally {
  process.off('SIGINT', stop);
  process.off('SIGTERM', stop);
}
