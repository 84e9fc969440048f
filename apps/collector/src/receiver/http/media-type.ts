/**
 * What an OTLP/HTTP request says about its body: the media type (Content-Type) and the
 * compression (Content-Encoding). Both are matched the way RFC 9110 says header values
 * compare: type and coding names case-insensitively, parameters after ';' ignored.
 */

/** The two OTLP/HTTP encodings; every response mirrors the request's. */
export type OtlpFormat = 'protobuf' | 'json';

export const PROTOBUF_MEDIA_TYPE = 'application/x-protobuf';
export const JSON_MEDIA_TYPE = 'application/json';

/** The Content-Type a response in `format` carries. */
export function mediaTypeOf(format: OtlpFormat): string {
  return format === 'protobuf' ? PROTOBUF_MEDIA_TYPE : JSON_MEDIA_TYPE;
}

/**
 * The OTLP format of a Content-Type header, or undefined for anything else (absent included).
 * Only the two types the OTLP spec names are accepted, as the Collector does: guessing a
 * format from e.g. text/plain would turn a client's mistake into a confusing 400.
 */
export function parseOtlpMediaType(header: string | undefined): OtlpFormat | undefined {
  if (header === undefined) return undefined;
  const semicolon = header.indexOf(';');
  const essence = (semicolon < 0 ? header : header.slice(0, semicolon)).trim().toLowerCase();
  if (essence === PROTOBUF_MEDIA_TYPE) return 'protobuf';
  if (essence === JSON_MEDIA_TYPE) return 'json';
  return undefined;
}

/** How the body is compressed. */
export type BodyCoding = 'identity' | 'gzip';

/** The codings we decode, for the 415 message. otelcol also takes zstd, deflate and snappy. */
export const SUPPORTED_CODINGS = ['gzip', 'identity'] as const;

/**
 * The coding of a Content-Encoding header, or undefined when it names one we do not decode.
 * A list ("gzip, identity") is read as RFC 9110 layers it: identity layers are no-ops, and at
 * most one gzip layer is supported (nested gzip is not something any OTLP client sends).
 */
export function parseContentEncoding(header: string | undefined): BodyCoding | undefined {
  if (header === undefined) return 'identity';
  let coding: BodyCoding = 'identity';
  for (const part of header.split(',')) {
    const name = part.trim().toLowerCase();
    if (name === '' || name === 'identity') continue;
    if ((name === 'gzip' || name === 'x-gzip') && coding === 'identity') {
      coding = 'gzip';
      continue;
    }
    return undefined;
  }
  return coding;
}
