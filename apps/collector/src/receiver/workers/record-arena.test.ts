import { describe, expect, it } from 'vitest';
import { encodeTraceRequest, plainSpan, scanValidatedTraceRequest } from '#spanring/otlp';
import { makeSpan } from '../../../../../libs/pipeline/src/test-support.ts';
import { RecordArena } from './record-arena.ts';

function recordOf(first: number, count: number): Uint8Array {
  return encodeTraceRequest(Array.from({ length: count }, (_, i) => makeSpan(0, first + i)));
}

describe('RecordArena', () => {
  it('copies a record and reuses its storage only once every span pointing into it was released', () => {
    const arena = new RecordArena(1 << 22);
    const source = recordOf(0, 40);
    const shared = new Uint8Array(source.byteLength + 10);
    shared.set(source, 5);
    const copy = arena.copy(shared, 5, source.byteLength);
    expect(Buffer.from(copy).equals(source)).toBe(true);
    const spans = scanValidatedTraceRequest(copy);
    arena.hold(copy, spans.length);

    // Releases in pieces, mixed with spans the arena never lent: the storage stays in use.
    arena.release([...spans.slice(0, 25), makeSpan(1, 1), ...scanValidatedTraceRequest(recordOf(100, 3))]);
    expect(arena.freeBytes).toBe(0);
    const other = arena.copy(source, 0, source.byteLength);
    expect(other.buffer).not.toBe(copy.buffer);
    expect(spans.map(plainSpan)).toEqual(scanValidatedTraceRequest(source).map(plainSpan));

    arena.release(spans.slice(25));
    expect(arena.freeBytes).toBe(copy.buffer.byteLength);
    expect(arena.copy(source, 0, source.byteLength).buffer).toBe(copy.buffer);
    expect(arena.reusedCopies).toBe(1);
  });

  it('gives a record with no spans straight back', () => {
    const arena = new RecordArena(1 << 22);
    const copy = arena.copy(new Uint8Array(0), 0, 0);
    arena.hold(copy, 0);
    expect(arena.freeBytes).toBe(copy.buffer.byteLength);
  });
});
