import { describe, expect, it } from 'vitest';
import { PipelineConfigError } from '../errors.ts';
import { canonicalExporterType } from './exporter-types.ts';

describe('canonicalExporterType', () => {
  it.each([
    ['otlp_grpc', 'otlp_grpc'],
    ['otlp', 'otlp_grpc'],
    ['otlp/backend', 'otlp_grpc'],
    ['otlp_http', 'otlp_http'],
    ['otlphttp', 'otlp_http'],
    ['otlphttp/eu', 'otlp_http'],
    ['file', 'file'],
    ['file/audit', 'file'],
    ['debug', 'debug'],
  ])('maps %s to %s', (id, type) => {
    expect(canonicalExporterType(id)).toBe(type);
  });

  it.each(['kafka', 'logging', 'OTLP', 'constructor', '', '/otlp'])('rejects %j, listing the supported types', (id) => {
    let thrown: unknown;
    try {
      canonicalExporterType(id);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(PipelineConfigError);
    const message = (thrown as PipelineConfigError).message;
    for (const name of ['otlp_grpc', 'otlp', 'otlp_http', 'otlphttp', 'file', 'debug']) expect(message).toContain(`"${name}"`);
  });
});
