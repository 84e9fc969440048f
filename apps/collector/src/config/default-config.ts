/**
 * The configuration used when no --config is given: everything Spanring serves, on every
 * interface (0.0.0.0, unlike otelcol's localhost defaults, because `spanring` with no flags is
 * usually a container that must be reachable), spans printed by the debug exporter, so it runs
 * without a backend.
 */
export const DEFAULT_CONFIG_YAML = `# Spanring's embedded default configuration (used when no --config is given).
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 0.0.0.0:4317
      http:
        endpoint: 0.0.0.0:4318

processors:
  batch:

exporters:
  debug:
    verbosity: basic

extensions:
  health_check:
    endpoint: 0.0.0.0:13133

service:
  extensions: [health_check]
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [debug]
  telemetry:
    metrics:
      readers:
        - pull:
            exporter:
              prometheus:
                host: 0.0.0.0
                port: 8888
`;

/** The name problems in the default config are reported under. */
export const DEFAULT_CONFIG_SOURCE = '(embedded default config)';
