import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { DurableLog, type DurableLogOptions } from './durable-log.ts';
import { StorageConfigError, StorageFullError } from './errors.ts';
import { scanSegment } from './segment-scan.ts';

const dirs: string[] = [];
function freshDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'spanring-log-'));
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function options(directory: string, extra: Partial<DurableLogOptions> = {}): DurableLogOptions {
  return { directory, fsync: false, maxSizeBytes: 1 << 30, consumers: ['a', 'b'], cursorFlushIntervalMs: 5, ...extra };
}

const payload = (seq: number, size = 50): Uint8Array => Buffer.alloc(size, seq % 251);

async function replayed(log: DurableLog): Promise<[number, string][]> {
  const out: [number, string][] = [];
  await log.replay((seq, bytes) => {
    out.push([seq, Buffer.from(bytes).toString('hex')]);
  });
  return out;
}

function segments(dir: string): string[] {
  return readdirSync(dir)
    .filter((name) => name.startsWith('segment-'))
    .map((name) => join(dir, name));
}

describe('DurableLog', () => {
  it('replays what was appended and not passed by every cursor, after a reopen (L1, L4)', async () => {
    const dir = freshDir();
    const log = await DurableLog.open(options(dir));
    await Promise.all([1, 2, 3].map((seq) => log.append(seq, payload(seq))));
    log.advanceCursor('a', 2);
    log.advanceCursor('b', 1);
    await log.close();
    const reopened = await DurableLog.open(options(dir));
    expect(reopened.highestSeq).toBe(3);
    expect([reopened.cursor('a'), reopened.cursor('b')]).toEqual([2, 1]);
    expect((await replayed(reopened)).map(([seq]) => seq)).toEqual([2, 3]);
    expect(reopened.recovery).toMatchObject({ records: 3, corruptRecords: 0, tornTails: 0 });
    await reopened.close();
  });

  it('shares one fdatasync among appends made together (group commit, L4)', async () => {
    const dir = freshDir();
    const log = await DurableLog.open(options(dir, { fsync: true }));
    await Promise.all(Array.from({ length: 200 }, (_, i) => log.append(i + 1, payload(i))));
    expect(log.stats.appendedRecords).toBe(200);
    expect(log.stats.fsyncs).toBeGreaterThan(0);
    expect(log.stats.fsyncs).toBeLessThan(20);
    await log.close();
  });

  it('rolls segments and deletes those every cursor passed (L6)', async () => {
    const dir = freshDir();
    const log = await DurableLog.open(options(dir, { segmentBytes: 200 }));
    for (let seq = 1; seq <= 12; seq++) await log.append(seq, payload(seq, 100));
    const before = segments(dir).length;
    expect(before).toBeGreaterThan(4);
    log.advanceCursor('a', 12);
    await log.flushCursors();
    expect(segments(dir).length).toBe(before); // consumer b holds them
    log.advanceCursor('b', 8);
    await log.flushCursors();
    expect(segments(dir).length).toBeLessThan(before);
    expect(log.stats.deletedSegments).toBeGreaterThan(0);
    await log.close();
    const reopened = await DurableLog.open(options(dir, { segmentBytes: 200 }));
    expect((await replayed(reopened)).map(([seq]) => seq)).toEqual([9, 10, 11, 12]);
    await reopened.close();
  });

  it('refuses past its size cap with StorageFullError, and says it has no room (D12)', async () => {
    const dir = freshDir();
    const log = await DurableLog.open(options(dir, { maxSizeBytes: 500 }));
    await log.append(1, payload(1, 200));
    expect(log.hasRoom(200)).toBe(true);
    await log.append(2, payload(2, 200));
    expect(log.hasRoom(200)).toBe(false);
    await expect(log.append(3, payload(3, 200))).rejects.toBeInstanceOf(StorageFullError);
    await log.close();
  });

  it('recovers every whole record when the last segment is cut at any byte (torn tail, L2)', async () => {
    const dir = freshDir();
    const log = await DurableLog.open(options(dir));
    for (let seq = 1; seq <= 4; seq++) await log.append(seq, payload(seq, 30));
    await log.close();
    const [file] = segments(dir);
    const whole = readFileSync(file!);
    const recordBytes = 24 + 30;
    for (let cut = 0; cut < whole.byteLength; cut++) {
      for (const name of segments(dir)) rmSync(name);
      writeFileSync(file!, whole.subarray(0, cut));
      const reopened = await DurableLog.open(options(dir));
      const seqs = (await replayed(reopened)).map(([seq]) => seq);
      expect(seqs).toEqual([1, 2, 3, 4].slice(0, Math.floor(cut / recordBytes)));
      expect(reopened.recovery.corruptRecords + reopened.recovery.tornTails).toBe(cut % recordBytes === 0 ? 0 : 1);
      await reopened.close();
    }
  });

  it('skips a corrupt record in the middle and recovers the rest, naming segment and offset (L3)', async () => {
    const dir = freshDir();
    const warnings: object[] = [];
    const logger = { info: () => undefined, warn: (fields: object) => warnings.push(fields), error: () => undefined };
    const log = await DurableLog.open(options(dir));
    for (let seq = 1; seq <= 5; seq++) await log.append(seq, payload(seq, 40));
    await log.close();
    const [file] = segments(dir);
    const bytes = readFileSync(file!);
    bytes[2 * 64 + 30] = bytes[2 * 64 + 30]! ^ 0xff; // a payload byte of record 3
    writeFileSync(file!, bytes);
    const reopened = await DurableLog.open(options(dir, { logger }));
    expect((await replayed(reopened)).map(([seq]) => seq)).toEqual([1, 2, 4, 5]);
    expect(reopened.recovery.corruptRecords).toBe(1);
    expect(reopened.stats.corruptRecords).toBe(1);
    expect(warnings).toEqual([expect.objectContaining({ segment: 'segment-0000000000000001.log', offset: 128, kind: 'corrupt' })]);
    await reopened.close();
  });

  it('treats a garbage segment as damage, never as records, and keeps serving', async () => {
    const dir = freshDir();
    writeFileSync(join(dir, 'segment-0000000000000001.log'), Buffer.from('not a log at all, just bytes'.repeat(20)));
    const log = await DurableLog.open(options(dir));
    expect(await replayed(log)).toEqual([]);
    expect(log.recovery.corruptRecords).toBe(1);
    await log.append(1, payload(1));
    await log.close();
    const reopened = await DurableLog.open(options(dir));
    expect((await replayed(reopened)).map(([seq]) => seq)).toEqual([1]);
    await reopened.close();
  });

  it('starts a consumer the cursor file does not know at the end, and every consumer at 0 without a file (L8)', async () => {
    const dir = freshDir();
    const log = await DurableLog.open(options(dir));
    await log.append(1, payload(1));
    await log.append(2, payload(2));
    log.advanceCursor('a', 1);
    await log.close();
    const widened = await DurableLog.open(options(dir, { consumers: ['a', 'c'] }));
    expect([widened.cursor('a'), widened.cursor('c')]).toEqual([1, 2]);
    await widened.close();
    rmSync(join(dir, 'cursors.json'));
    const lost = await DurableLog.open(options(dir));
    expect([lost.cursor('a'), lost.cursor('b')]).toEqual([0, 0]);
    expect((await replayed(lost)).map(([seq]) => seq)).toEqual([1, 2]);
    await lost.close();
  });

  it('names what is wrong with a directory it cannot use, and refuses one held by a live process (L9)', async () => {
    const dir = freshDir();
    await expect(DurableLog.open(options(join(dir, 'missing')))).rejects.toThrow(/missing" does not exist/);
    writeFileSync(join(dir, 'file'), 'x');
    await expect(DurableLog.open(options(join(dir, 'file')))).rejects.toBeInstanceOf(StorageConfigError);
    writeFileSync(join(dir, 'LOCK'), String(process.ppid));
    await expect(DurableLog.open(options(dir))).rejects.toThrow(new RegExp(`in use by process ${process.ppid}`));
    // A lock left by a process that is gone (kill -9) is taken over.
    const gone = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString();
    writeFileSync(join(dir, 'LOCK'), gone);
    const log = await DurableLog.open(options(dir));
    await log.close();
  });

  it('property: after random appends, cursor moves and reopenings with a cut tail, replay is exactly the surviving unpassed records', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.oneof(fc.record({ append: fc.integer({ min: 0, max: 120 }) }), fc.record({ advance: fc.nat(), consumer: fc.constantFrom('a', 'b') }), fc.constant({ reopen: true })), {
          maxLength: 40,
        }),
        fc.nat(),
        async (ops, cutSeed) => {
          const dir = freshDir();
          let log = await DurableLog.open(options(dir, { segmentBytes: 300 }));
          const written = new Map<number, number>();
          let seq = 0;
          for (const op of ops) {
            if ('append' in op) {
              seq++;
              await log.append(seq, payload(seq, op.append));
              written.set(seq, op.append);
            } else if ('advance' in op) {
              log.advanceCursor(op.consumer, seq === 0 ? 0 : (op.advance % seq) + 1);
            } else {
              await log.close();
              log = await DurableLog.open(options(dir, { segmentBytes: 300 }));
            }
          }
          await log.close();
          // Cut the newest segment's tail somewhere: only its last records may be lost.
          const files = segments(dir).toSorted();
          const last = files.at(-1);
          const cutAway = new Set<number>();
          if (last !== undefined && statSync(last).size > 0) {
            const bytes = readFileSync(last);
            const cut = cutSeed % bytes.byteLength;
            for (const record of scanSegment(bytes).records) if (record.payloadOffset + record.length > cut) cutAway.add(record.seq);
            truncateSync(last, cut);
          }
          const reopened = await DurableLog.open(options(dir, { segmentBytes: 300 }));
          const floor = Math.min(reopened.cursor('a'), reopened.cursor('b'));
          const got = await replayed(reopened);
          await reopened.close();
          for (const [gotSeq, hex] of got) {
            expect(gotSeq).toBeGreaterThan(floor);
            expect(hex).toBe(Buffer.from(payload(gotSeq, written.get(gotSeq)!)).toString('hex'));
          }
          const expected = [...written.keys()].filter((candidate) => candidate > floor);
          const gotSeqs = got.map(([gotSeq]) => gotSeq);
          // Every expected record is there, except exactly those the cut went through or past.
          expect(gotSeqs.toSorted((x, y) => x - y)).toEqual(expected.filter((candidate) => !cutAway.has(candidate)));
        },
      ),
      { numRuns: 40, seed: 1414 },
    );
  });

  it('recovers every append it acknowledged with fsync when the process is killed at a random moment (L4)', async () => {
    const dir = freshDir();
    const child = spawn(
      process.execPath,
      ['--conditions=spanring-source', '--input-type=module', '-e', CRASH_CHILD, dir],
      { stdio: ['ignore', 'pipe', 'inherit'], cwd: new URL('../../../', import.meta.url).pathname },
    );
    const acknowledged: number[] = [];
    let buffered = '';
    child.stdout.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop()!;
      for (const line of lines) if (line !== '') acknowledged.push(Number(line));
      if (acknowledged.length >= 300) child.kill('SIGKILL');
    });
    await new Promise((resolve) => child.once('exit', resolve));
    expect(acknowledged.length).toBeGreaterThanOrEqual(300);
    const log = await DurableLog.open(options(dir, { consumers: ['a'] }));
    const recovered = new Set((await replayed(log)).map(([seq]) => seq));
    await log.close();
    expect(acknowledged.filter((seq) => !recovered.has(seq))).toEqual([]);
  }, 60_000);
});

/** Appends with fsync from 4 concurrent writers, printing each seq once its append resolved. */
const CRASH_CHILD = `
import { DurableLog } from '#spanring/storage';
const log = await DurableLog.open({ directory: process.argv[1], fsync: true, maxSizeBytes: 1 << 30, consumers: ['a'], segmentBytes: 64 * 1024 });
let seq = 0;
const writer = async () => {
  for (let i = 0; i < 100000; i++) {
    const mine = ++seq;
    await log.append(mine, Buffer.alloc(1000 + (mine % 500), mine % 251));
    process.stdout.write(mine + '\\n');
  }
};
await Promise.all([writer(), writer(), writer(), writer()]);
`;
