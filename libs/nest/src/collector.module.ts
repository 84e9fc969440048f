import { Module } from '@nestjs/common';
import { ConfigurableModuleClass } from './collector.module-definition.ts';
import { SpanringSpanProcessor } from './span-processor.ts';
import { SpanCollectorService } from './span-collector.service.ts';

/**
 * The span pipeline as a Nest module: `CollectorModule.forRoot({ exporters })` or
 * `forRootAsync({ imports, useFactory, inject })`. Provides SpanCollectorService (submit spans,
 * per-client producers) and SpanringSpanProcessor (for the host's TracerProvider). The
 * collector drains before the app exits (enable shutdown hooks for signals).
 */
@Module({
  providers: [SpanCollectorService, SpanringSpanProcessor],
  exports: [SpanCollectorService, SpanringSpanProcessor],
})
export class CollectorModule extends ConfigurableModuleClass {}
