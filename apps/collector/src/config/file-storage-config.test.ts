// The persistent sending queue's configuration: otelcol's file_storage extension and
// sending_queue.storage, plus Spanring's acknowledge_after and max_size_mib.
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { validateCollectorConfig } from './collector-config.ts';
import { ConfigError } from './config-error.ts';
import { toRuntimeConfig } from './to-runtime-config.ts';

const config = (extensions: string, queue: string, listed = '[file_storage]') => `
receivers:
  otlp: { protocols: { grpc: { endpoint: "127.0.0.1:0" } } }
exporters:
  otlp_grpc: { endpoint: "127.0.0.1:4317", tls: { insecure: true }, sending_queue: ${queue} }
  debug:
extensions:
${extensions}
service:
  extensions: ${listed}
  pipelines:
    traces: { receivers: [otlp], exporters: [otlp_grpc, debug] }
spanring: { workers: 2 }
`;

function problemsOf(yaml: string): readonly string[] {
  try {
    validateCollectorConfig(parse(yaml));
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected the config to be invalid');
}

describe('file_storage and sending_queue.storage', () => {
  it('turns into one durable queue for the exporters that name it, receiving on the main thread (D9)', () => {
    const runtime = toRuntimeConfig(
      validateCollectorConfig(
        parse(config('  file_storage: { directory: /var/lib/spanring, fsync: true, max_size_mib: 64, compaction: { on_start: true } }', '{ storage: file_storage }')),
      ),
    );
    expect(runtime.durableQueue).toEqual({
      extension: 'file_storage',
      directory: '/var/lib/spanring',
      createDirectory: false,
      fsync: true,
      maxSizeBytes: 64 * 1024 * 1024,
      exporters: ['otlp_grpc'],
      acknowledgeAfter: 'durable',
      requestedWorkers: 2,
    });
    expect(runtime.receiverWorkers).toBe(0);
  });

  it('defaults as otelcol (fsync off) with Spanring\'s 1 GiB cap, and takes acknowledge_after: memory', () => {
    const runtime = toRuntimeConfig(
      validateCollectorConfig(parse(config('  file_storage/q: { directory: ./q }', '{ storage: file_storage/q, acknowledge_after: memory }', '[file_storage/q]'))),
    );
    expect(runtime.durableQueue).toMatchObject({ extension: 'file_storage/q', fsync: false, maxSizeBytes: 1024 * 1024 * 1024, acknowledgeAfter: 'memory' });
  });

  it('leaves the queue in memory (and workers as set) without storage', () => {
    const runtime = toRuntimeConfig(validateCollectorConfig(parse(config('  file_storage: { directory: /x }', '{ queue_size: 10 }'))));
    expect(runtime.durableQueue).toBeUndefined();
    expect(runtime.receiverWorkers).toBe(2);
  });

  it('names the key of every reference that does not fit', () => {
    expect(problemsOf(config('  health_check:', '{ storage: file_storage }', '[health_check]'))).toEqual([
      'exporters.otlp_grpc.sending_queue.storage: extension "file_storage" is not defined under extensions',
    ]);
    expect(problemsOf(config('  file_storage: { directory: /x }', '{ storage: file_storage }', '[]'))).toEqual([
      'exporters.otlp_grpc.sending_queue.storage: extension "file_storage" is not listed in service.extensions',
    ]);
    expect(problemsOf(config('  health_check:', '{ storage: health_check }', '[health_check]'))).toEqual([
      'exporters.otlp_grpc.sending_queue.storage: extension "health_check" is a health_check, not a storage extension (use file_storage)',
    ]);
  });

  it('requires a directory and rejects unknown keys and values, naming them', () => {
    expect(problemsOf(config('  file_storage: { fsync: true }', '{ storage: file_storage }'))).toEqual([
      'extensions.file_storage.directory: required: the directory the persistent queue is kept in (it must exist, or set create_directory: true)',
    ]);
    expect(problemsOf(config('  file_storage: { directory: /x, fsynk: true }', '{ storage: file_storage }'))[0]).toMatch(
      /^extensions\.file_storage\.fsynk: unknown key \(supported here: directory, create_directory/,
    );
    expect(problemsOf(config('  file_storage: { directory: /x }', '{ storage: file_storage, acknowledge_after: disk }'))).toEqual([
      'exporters.otlp_grpc.sending_queue.acknowledge_after: expected "durable" or "memory", got "disk"',
    ]);
  });
});
