import { PipelineConfigError } from '../errors.ts';

/** The exporter types Spanring implements, by their current OTel Collector names. */
export const EXPORTER_TYPES = ['otlp_grpc', 'otlp_http', 'file', 'debug'] as const;
export type ExporterType = (typeof EXPORTER_TYPES)[number];

/** Current names and the older aliases the Collector still accepts (`otlp`, `otlphttp`). */
const TYPE_BY_NAME: ReadonlyMap<string, ExporterType> = new Map<string, ExporterType>([
  ['otlp_grpc', 'otlp_grpc'],
  ['otlp', 'otlp_grpc'],
  ['otlp_http', 'otlp_http'],
  ['otlphttp', 'otlp_http'],
  ['file', 'file'],
  ['debug', 'debug'],
]);

/**
 * The canonical exporter type of a Collector exporter id: its type, or `type/name` as the
 * keys of the `exporters:` section are written (e.g. "otlphttp/backend" → 'otlp_http').
 */
export function canonicalExporterType(componentId: string): ExporterType {
  const slash = componentId.indexOf('/');
  const type = slash === -1 ? componentId : componentId.slice(0, slash);
  const canonical = TYPE_BY_NAME.get(type);
  if (canonical !== undefined) return canonical;
  const supported = [...TYPE_BY_NAME.keys()].map((name) => `"${name}"`).join(', ');
  throw new PipelineConfigError(
    `exporters.${componentId}`,
    `unknown exporter type "${type}"; supported types are ${supported} (write "type" or "type/name")`,
  );
}
