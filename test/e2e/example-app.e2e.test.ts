// The "In your own Nest app" example from the README, run as written.
import 'reflect-metadata';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Controller, Get, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { trace } from '@opentelemetry/api';
import { TracerProvider } from '@opentelemetry/sdk-trace';
import { CollectorModule, SpanringSpanProcessor } from '#spanring/nest';
import { decodeTraceRequestJson } from '#spanring/otlp';
import { FileExporter, SILENT_LOGGER } from '#spanring/pipeline';
import { describe, expect, it } from 'vitest';

describe('README example app', () => {
  it('the app\'s own spans reach the file exporter through the in-process SpanProcessor', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'spanring-example-'));
    const path = join(dir, 'spans.jsonl');

    @Controller()
    class GreetingController {
      @Get('hello')
      hello(): string {
        return trace.getTracer('example-app').startActiveSpan('say-hello', (span) => {
          span.setAttribute('greeting', 'hello');
          span.end();
          return 'hello';
        });
      }
    }

    @Module({
      imports: [CollectorModule.forRoot({ exporters: [{ exporter: new FileExporter({ name: 'file', path }) }], logger: SILENT_LOGGER })],
      controllers: [GreetingController],
    })
    class AppModule {}

    const app = await NestFactory.create(AppModule, { logger: false });
    app.enableShutdownHooks();
    const provider = new TracerProvider({ spanProcessors: [app.get(SpanringSpanProcessor)] });
    trace.setGlobalTracerProvider(provider);
    await app.listen(0, '127.0.0.1');
    try {
      for (let i = 0; i < 3; i++) expect(await (await fetch(`${await app.getUrl()}/hello`)).text()).toBe('hello');
    } finally {
      await app.close(); // drains the collector before the app is gone
      trace.disable();
    }

    const spans = readFileSync(path, 'utf8').split('\n').filter(Boolean).flatMap((line) => decodeTraceRequestJson(line));
    expect(spans.map((s) => s.name)).toEqual(['say-hello', 'say-hello', 'say-hello']);
    expect(spans[0]!.attributes).toEqual([{ key: 'greeting', value: 'hello' }]);
    expect(spans[0]!.scope.name).toBe('example-app');
    rmSync(dir, { recursive: true, force: true });
  });
});
