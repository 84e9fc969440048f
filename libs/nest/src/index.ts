export { CollectorModule } from './collector.module.ts';
export { MODULE_OPTIONS_TOKEN as COLLECTOR_MODULE_OPTIONS, type CollectorModuleOptions } from './collector.module-definition.ts';
export { ReadableSpanConverter, type SdkReadableSpan, type SdkSpanContext } from './readable-span.ts';
export { SpanCollectorService, type ProducerLease } from './span-collector.service.ts';
export { SpanringSpanProcessor } from './span-processor.ts';
