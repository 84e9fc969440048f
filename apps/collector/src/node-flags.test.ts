import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { COLLECTOR_ENV, COLLECTOR_NODE_FLAGS } from './node-flags.ts';

const ROOT = new URL('../../../', import.meta.url);
const MAIN = 'dist/apps/collector/src/main.js';

/** `VAR=value ... node --flag ...`, the way the launchers spell it. */
const launch = `${Object.entries(COLLECTOR_ENV)
  .map(([name, value]) => `${name}=${value}`)
  .join(' ')} node ${COLLECTOR_NODE_FLAGS.join(' ')}`;

describe('the spanring launchers', () => {
  it('the bin shebang starts Node with the launch environment and flags', () => {
    const firstLine = readFileSync(new URL('apps/collector/src/main.ts', ROOT), 'utf8').split('\n')[0];
    expect(firstLine).toBe(`#!/usr/bin/env -S ${launch}`);
    // Kernels before Linux 5.1 cut a shebang line at 127 bytes.
    expect(Buffer.byteLength(firstLine)).toBeLessThanOrEqual(127);
  });

  it('npm start and npm run spanring start Node the same way', () => {
    const { scripts } = JSON.parse(readFileSync(new URL('package.json', ROOT), 'utf8')) as { scripts: Record<string, string> };
    expect(scripts.spanring).toBe(`${launch} ${MAIN}`);
    expect(scripts.start).toBe(`npm run build && ${launch} ${MAIN}`);
  });
});
