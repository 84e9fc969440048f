import { describe, expect, it } from 'vitest';
import { YoungGarbageNudge } from './young-garbage-nudge.ts';

describe('YoungGarbageNudge', () => {
  it('runs a minor GC once per everyBytes of bodies, and nothing without an exposed gc', () => {
    const calls: unknown[] = [];
    const nudge = new YoungGarbageNudge(1_000, (options) => calls.push(options));
    expect(nudge.enabled).toBe(true);
    for (let i = 0; i < 9; i++) nudge.received(300);
    // 2,700 bytes: after the 4th body (1,200) and the 8th (1,200 more).
    expect(calls).toEqual([{ type: 'minor' }, { type: 'minor' }]);

    const off = new YoungGarbageNudge(1, undefined);
    expect(off.enabled).toBe(false);
    expect(() => off.received(10)).not.toThrow();
  });
});
