import { ConfigurableModuleBuilder } from '@nestjs/common';
import type { DurabilityOptions, ExporterRegistration, PipelineLogger, PipelineOptionsInput } from '#spanring/pipeline';

export interface CollectorModuleOptions {
  /** Every exporter receives every batch; at least one. */
  readonly exporters: readonly ExporterRegistration[];
  /** Batch and ring settings; Collector defaults when omitted. */
  readonly pipeline?: PipelineOptionsInput;
  /** A pino-compatible logger; default: pino. */
  readonly logger?: PipelineLogger;
  /** How long shutdown may take to deliver what is pending; default 30 s. */
  readonly shutdownDeadlineMs?: number;
  /** Retry-After hint (seconds) for clients pushed back; default 1. */
  readonly retryAfterSeconds?: number;
  /** A persistent sending queue for some exporters (an opened durable log); replay it with collector.replayDurable(). */
  readonly durability?: DurabilityOptions;
}

/**
 * Global by default (`isGlobal: false` to opt out), so receiver modules can inject
 * SpanCollectorService without importing the configured module again.
 */
export const { ConfigurableModuleClass, MODULE_OPTIONS_TOKEN, OPTIONS_TYPE, ASYNC_OPTIONS_TYPE } =
  new ConfigurableModuleBuilder<CollectorModuleOptions>()
    .setClassMethodName('forRoot')
    .setExtras({ isGlobal: true }, (definition, extras) => ({ ...definition, global: extras.isGlobal }))
    .build();
