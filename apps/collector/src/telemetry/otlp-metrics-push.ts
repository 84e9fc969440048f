import { Inject, Injectable, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import type { ObservableResult } from '@opentelemetry/api';
import { OTLPMetricExporter as GrpcMetricExporter } from '@opentelemetry/exporter-metrics-otlp-grpc';
import { OTLPMetricExporter as ProtoMetricExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import { MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { SpanCollectorService } from '#spanring/nest';
import type { ExporterMetrics } from '#spanring/pipeline';
import type { TelemetrySettings } from '../config/runtime-config.ts';
import { ReceiverStats } from './receiver-stats.ts';

export const OTLP_PUSH_SETTINGS = Symbol('spanring.OtlpPushSettings');
export type OtlpPushSettings = NonNullable<TelemetrySettings['otlpPush']>;

/**
 * Pushes the same self-metrics as /metrics over OTLP (service.telemetry.metrics.readers with a
 * periodic reader and an otlp exporter), with the OTel metrics SDK: observable instruments
 * read the pipeline's counters at each collection, so the hot path pays nothing.
 */
@Injectable()
export class OtlpMetricsPush implements OnModuleInit, OnApplicationShutdown {
  private readonly settings: OtlpPushSettings | undefined;
  private readonly service: SpanCollectorService;
  private readonly receivers: ReceiverStats;
  private provider: MeterProvider | undefined;

  constructor(
    @Inject(OTLP_PUSH_SETTINGS) settings: OtlpPushSettings | undefined,
    @Inject(SpanCollectorService) service: SpanCollectorService,
    @Inject(ReceiverStats) receivers: ReceiverStats,
  ) {
    this.settings = settings;
    this.service = service;
    this.receivers = receivers;
  }

  onModuleInit(): void {
    if (this.settings === undefined) return;
    const { endpoint, protocol, intervalMs } = this.settings;
    const exporter = protocol === 'grpc' ? new GrpcMetricExporter({ url: endpoint }) : new ProtoMetricExporter({ url: endpoint });
    this.provider = new MeterProvider({
      readers: [new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: intervalMs })],
    });
    this.registerInstruments();
  }

  async onApplicationShutdown(): Promise<void> {
    // Shutting the provider down exports one last time, so the final counts leave too.
    await this.provider?.shutdown();
  }

  private registerInstruments(): void {
    const meter = this.provider!.getMeter('spanring');
    const metrics = this.service.collector.metrics;
    const perTransport = (key: 'accepted' | 'refused') => (result: ObservableResult) => {
      for (const [transport, counts] of this.receivers.snapshot()) result.observe(counts[key], { receiver: 'otlp', transport });
    };
    const perExporter = (read: (m: ExporterMetrics) => number) => (result: ObservableResult) => {
      for (const [exporter, m] of metrics.exporters) result.observe(read(m), { exporter });
    };
    meter.createObservableCounter('otelcol_receiver_accepted_spans').addCallback(perTransport('accepted'));
    meter.createObservableCounter('otelcol_receiver_refused_spans').addCallback(perTransport('refused'));
    meter.createObservableCounter('otelcol_exporter_sent_spans').addCallback(perExporter((m) => m.sentSpans));
    meter.createObservableCounter('otelcol_exporter_send_failed_spans').addCallback(perExporter((m) => m.failedSpans));
    meter.createObservableGauge('otelcol_exporter_queue_size').addCallback(perExporter((m) => m.queueSize));
    meter.createObservableGauge('otelcol_exporter_queue_capacity').addCallback(perExporter((m) => m.queueCapacity));
    meter.createObservableCounter('spanring_backpressure_waits').addCallback((result) => result.observe(metrics.backpressureWaits));
    meter.createObservableGauge('spanring_ring_spans').addCallback((result) => {
      for (const ring of this.service.collector.ringOccupancy()) result.observe(ring.size, { producer: ring.producerId });
    });
  }
}
