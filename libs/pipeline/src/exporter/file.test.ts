import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { decodeTraceRequestJson, encodeTraceRequestJson } from '#spanring/otlp';
import type { Span } from '#spanring/otlp';
import { ExportError, PipelineConfigError } from '../errors.ts';
import { FileExporter, listBackups } from './file.ts';
import type { FileExporterOptions } from './file.ts';
import { fullyPopulatedSpans, simpleSpans } from './test-spans.ts';

let dir: string;
const exporters: FileExporter[] = [];
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'spanring-file-exporter-'));
});
afterEach(async () => {
  for (const exporter of exporters.splice(0)) await exporter.shutdown();
  await rm(dir, { recursive: true, force: true });
});

function exporterFor(options: Partial<FileExporterOptions> = {}): FileExporter {
  const exporter = new FileExporter({ path: join(dir, 'spans.jsonl'), ...options });
  exporters.push(exporter);
  return exporter;
}

async function lines(path: string): Promise<string[]> {
  const text = await readFile(path, 'utf8');
  expect(text === '' || text.endsWith('\n')).toBe(true);
  return text === '' ? [] : text.slice(0, -1).split('\n');
}

/** Batch number `n`: one span whose name carries n, so lines can be told apart. */
function batch(n: number, size = 1): Span[] {
  return simpleSpans(size).map((span) => ({ ...span, name: `batch-${n}` }));
}

const batchNumber = (line: string): number => Number((decodeTraceRequestJson(line)[0] as Span).name.slice('batch-'.length));
const signal = (): AbortSignal => new AbortController().signal;

async function rejection(promise: Promise<unknown>): Promise<ExportError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(ExportError);
    return error as ExportError;
  }
  throw new Error('expected the export to reject, but it resolved');
}

describe('file exporter output', () => {
  it('writes one OTLP/JSON request per line that parses back to the input, field by field', async () => {
    const exporter = exporterFor();
    const first = fullyPopulatedSpans();
    const second = simpleSpans(4, 2);
    await exporter.export(first, signal());
    await exporter.export(second, signal());

    const written = await lines(exporter.path);
    expect(written).toHaveLength(2);
    expect(decodeTraceRequestJson(written[0] as string)).toEqual(first);
    expect(decodeTraceRequestJson(written[1] as string)).toEqual(second);
  });

  it('has the line in the file by the time export() resolves', async () => {
    const exporter = exporterFor();
    for (let n = 1; n <= 3; n++) {
      await exporter.export(batch(n), signal());
      expect((await lines(exporter.path)).map(batchNumber)).toEqual(Array.from({ length: n }, (_, i) => i + 1));
    }
  });

  it('never interleaves lines of concurrent exports', async () => {
    const exporter = exporterFor();
    const batches = Array.from({ length: 40 }, (_, n) => batch(n, 50));
    await Promise.all(batches.map((spans) => exporter.export(spans, signal())));

    const written = await lines(exporter.path);
    expect(written).toHaveLength(40);
    for (const line of written) expect(decodeTraceRequestJson(line)).toHaveLength(50);
    expect(written.map(batchNumber).toSorted((a, b) => a - b)).toEqual(batches.map((_, n) => n));
  });

  it('truncates an existing file by default, as the Collector does', async () => {
    const path = join(dir, 'spans.jsonl');
    await writeFile(path, 'old line\n');
    await exporterFor().export(batch(1), signal());
    expect((await lines(path)).map(batchNumber)).toEqual([1]);
  });

  it('continues an existing file with append', async () => {
    const path = join(dir, 'spans.jsonl');
    await writeFile(path, 'old line\n');
    await exporterFor({ append: true }).export(batch(1), signal());
    const written = await lines(path);
    expect(written[0]).toBe('old line');
    expect(batchNumber(written[1] as string)).toBe(1);
  });

  it('writes nothing for an empty batch', async () => {
    const exporter = exporterFor();
    await exporter.export([], signal());
    await exporter.export(batch(1), signal());
    expect(await lines(exporter.path)).toHaveLength(1);
  });
});

describe('file exporter rotation', () => {
  it('rotates before a line would pass maxMegabytes and keeps the newest maxBackups backups', async () => {
    const lineBytes = Buffer.byteLength(`${encodeTraceRequestJson(batch(10))}\n`);
    // Room for two lines per file, not three.
    const exporter = exporterFor({ rotation: { maxMegabytes: (lineBytes * 2.5) / (1024 * 1024), maxBackups: 2 } });
    for (let n = 10; n < 20; n++) await exporter.export(batch(n), signal());

    const backups = await listBackups(exporter.path);
    expect(backups).toHaveLength(2);
    for (const backup of backups) expect(backup).toMatch(/spans-\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d\.\d{3}(-\d+)?\.jsonl$/);
    const files = [...backups, exporter.path];
    const perFile = await Promise.all(files.map(async (file) => (await lines(file)).map(batchNumber)));
    for (const numbers of perFile) expect(numbers).toHaveLength(2);
    // Oldest backups were deleted; what is left is the newest six batches, in order.
    expect(perFile.flat()).toEqual([14, 15, 16, 17, 18, 19]);
    expect(await readdir(dir)).toHaveLength(3);
  });

  it('rotates correctly under concurrent exports: every batch once, no file over the limit', async () => {
    const lineBytes = Buffer.byteLength(`${encodeTraceRequestJson(batch(10))}\n`);
    const maxBytes = lineBytes * 3;
    const exporter = exporterFor({ rotation: { maxMegabytes: maxBytes / (1024 * 1024), maxBackups: 0 } });
    await Promise.all(Array.from({ length: 30 }, (_, i) => exporter.export(batch(10 + i), signal())));

    const files = [...(await listBackups(exporter.path)), exporter.path];
    expect(files).toHaveLength(10);
    const perFile = await Promise.all(files.map(async (file) => ({ bytes: (await readFile(file)).length, numbers: (await lines(file)).map(batchNumber) })));
    for (const { bytes } of perFile) expect(bytes).toBeLessThanOrEqual(maxBytes);
    expect(perFile.flatMap((file) => file.numbers).toSorted((a, b) => a - b)).toEqual(Array.from({ length: 30 }, (_, i) => 10 + i));
  });

  it('keeps every backup with maxBackups 0', async () => {
    const lineBytes = Buffer.byteLength(`${encodeTraceRequestJson(batch(10))}\n`);
    const exporter = exporterFor({ rotation: { maxMegabytes: lineBytes / (1024 * 1024), maxBackups: 0 } });
    for (let n = 10; n < 16; n++) await exporter.export(batch(n), signal());
    const backups = await listBackups(exporter.path);
    expect(backups).toHaveLength(5);
    const all = await Promise.all([...backups, exporter.path].map(async (file) => (await lines(file)).map(batchNumber)));
    expect(all.flat()).toEqual([10, 11, 12, 13, 14, 15]);
  });

  it('writes a line larger than the limit whole, into a file of its own', async () => {
    const exporter = exporterFor({ rotation: { maxMegabytes: 100 / (1024 * 1024), maxBackups: 5 } });
    await exporter.export(batch(1, 20), signal());
    await exporter.export(batch(2, 20), signal());
    const backups = await listBackups(exporter.path);
    expect(backups).toHaveLength(1);
    expect((await lines(backups[0] as string)).map(batchNumber)).toEqual([1]);
    expect((await lines(exporter.path)).map(batchNumber)).toEqual([2]);
  });

  it('continues an existing file and counts its size when rotation is on', async () => {
    const path = join(dir, 'spans.jsonl');
    const lineBytes = Buffer.byteLength(`${encodeTraceRequestJson(batch(10))}\n`);
    await writeFile(path, `${'x'.repeat(lineBytes)}\n`);
    const exporter = exporterFor({ rotation: { maxMegabytes: (lineBytes * 1.5) / (1024 * 1024) } });
    await exporter.export(batch(10), signal());
    const backups = await listBackups(path);
    expect(backups).toHaveLength(1);
    expect(await readFile(backups[0] as string, 'utf8')).toBe(`${'x'.repeat(lineBytes)}\n`);
  });
});

describe('file exporter failures, abort and shutdown', () => {
  it('fails permanently when the path cannot be written', async () => {
    const asDirectory = join(dir, 'is-a-directory');
    await mkdir(asDirectory);
    const error = await rejection(exporterFor({ path: asDirectory }).export(batch(1), signal()));
    expect(error.retryable).toBe(false);
    expect(error.message).toContain('EISDIR');
    const missingDir = await rejection(exporterFor({ path: join(dir, 'missing', 'spans.jsonl') }).export(batch(1), signal()));
    expect(missingDir.message).toContain('ENOENT');
  });

  it('rejects an aborted export and never writes it, even if it was queued', async () => {
    const exporter = exporterFor();
    const controller = new AbortController();
    const first = exporter.export(batch(1, 2000), signal());
    const queued = exporter.export(batch(2), controller.signal);
    controller.abort(new Error('shutdown deadline'));
    const error = await rejection(queued);
    expect(error.message).toContain('shutdown deadline');
    await first;
    await expect(rejection(exporter.export(batch(3), AbortSignal.abort()))).resolves.toBeInstanceOf(ExportError);
    await exporter.export(batch(4), signal());
    expect((await lines(exporter.path)).map(batchNumber)).toEqual([1, 4]);
  });

  it('waits for queued writes on shutdown and refuses exports after it', async () => {
    const exporter = exporterFor();
    const pending = [1, 2, 3].map((n) => exporter.export(batch(n), signal()));
    await exporter.shutdown();
    await Promise.all(pending);
    expect((await lines(exporter.path)).map(batchNumber)).toEqual([1, 2, 3]);
    const error = await rejection(exporter.export(batch(4), signal()));
    expect(error.message).toContain('shut down');
  });

  it.each([
    ['path', { path: '' }],
    ['rotation.maxMegabytes', { rotation: { maxMegabytes: 0 } }],
    ['rotation.maxBackups', { rotation: { maxBackups: -1 } }],
    ['rotation.maxBackups', { rotation: { maxBackups: 1.5 } }],
  ])('rejects an invalid %s as a PipelineConfigError', (path, options) => {
    let thrown: unknown;
    try {
      exporterFor(options);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(PipelineConfigError);
    expect((thrown as PipelineConfigError).path).toBe(path);
  });
});
