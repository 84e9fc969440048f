/** `spanring --help`: every flag, the validate command, the supported components and keys. */
export function helpText(version: string): string {
  return `spanring ${version}: an OpenTelemetry span collector (traces), configured like the OTel Collector.

Usage:
  spanring [--config <file>]... [--set <key.path=value>]... [--print-config]
  spanring validate [--config <file>]... [--set <key.path=value>]...
  spanring --help | --version

Commands:
  (none)              run the collector
  validate            check the configuration, list every problem, exit 1 if there is any
                      (exporters are also built once, so unreadable tls files are found)

Options:
  -c, --config <file> a YAML config file (otelcol format); repeatable: files are deep-merged
                      in order (maps merge, later files win, lists are replaced). "file:<path>"
                      is accepted too. Without --config the embedded default config is used:
                      otlp receiver on 0.0.0.0:4317 (gRPC) and 0.0.0.0:4318 (HTTP), batch,
                      debug exporter, health_check on 0.0.0.0:13133, metrics on 0.0.0.0:8888.
      --set <key.path=value>
                      set one key after the files are merged; repeatable, applied in order.
                      The value is YAML: --set processors.batch.timeout=2s,
                      --set exporters.debug.verbosity=detailed,
                      --set 'service.pipelines.traces.exporters=[debug]'
      --print-config  print the effective configuration (files + --set, \${env:…} left as
                      written) as YAML, then exit 0
  -h, --help          show this help
  -v, --version       print the version

Environment: \${env:NAME} and \${NAME} in string values are replaced by the variable (unset: empty
string); \${env:NAME:-fallback} gives a fallback; $$ is a literal $.

Supported components (otelcol keys):
  receivers    otlp: protocols.grpc.{endpoint, max_recv_msg_size_mib},
                     protocols.http.{endpoint, max_request_body_size}
                     (endpoint defaults: localhost:4317 / localhost:4318; size default 64 MiB)
  processors   batch: send_batch_size (8192), send_batch_max_size (0), timeout (200ms)
  exporters    otlp_grpc (alias otlp), otlp_http (alias otlphttp): endpoint, headers,
                 compression (gzip|none), timeout, tls.{insecure, insecure_skip_verify, ca_file,
                 cert_file, key_file}, otlp_http also traces_endpoint and encoding (proto|json)
               file: path, append, rotation.{max_megabytes, max_backups}
               debug: verbosity (basic|normal|detailed)
               every exporter: retry_on_failure.{enabled, initial_interval, randomization_factor,
                 multiplier, max_interval, max_elapsed_time}, sending_queue.{enabled,
                 queue_size, num_consumers}
  extensions   health_check: endpoint (localhost:13133), path (/); on when in service.extensions
  service      extensions, pipelines.traces (exactly one traces pipeline: receivers,
               processors, exporters), telemetry.logs.level,
               telemetry.metrics.{level, readers: [pull prometheus {host, port} |
               periodic {interval, exporter.otlp {protocol, endpoint}}], address}

Spanring's own settings (top-level "spanring:" key):
  ring_bits (1..20, default 14)          spans per producer ring = 2^ring_bits
  max_producers (1..128, default 64)     concurrent producer rings
  max_consume_per_ring (default 2048)    spans taken from one ring per turn
  max_spans_per_turn (default 10000)     spans per consumer turn before yielding
  backpressure_wait (default 5s)         wait for ring space before answering 429 / UNAVAILABLE
  idle_wake (default 50ms)               consumer re-check interval
  shutdown_timeout (default 30s)         how long a graceful shutdown may take
  retry_after (default 1s)               Retry-After / RetryInfo sent when pushing back

Durations are Go-style: 500us, 200ms, 5s, 1m30s, 1h (a bare integer is nanoseconds).
Exit codes: 0 ok, 1 invalid configuration, 2 bad command-line arguments.
`;
}
