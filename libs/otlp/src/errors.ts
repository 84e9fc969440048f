/** Base class of every error the OTLP codec throws; `code` is stable for programs. */
export class OtlpError extends Error {
  readonly code: string;

  constructor(code: string, message: string) {
    super(message);
    this.name = new.target.name;
    this.code = code;
  }
}

/**
 * Invariant C19: input bytes or JSON text are not a valid OTLP message. `path` names the offending
 * element in OTLP/JSON field names, e.g. `resourceSpans[0].scopeSpans[2].spans[5].traceId`
 * (empty for the message as a whole); `reason` is the message without the path.
 */
export class OtlpDecodeError extends OtlpError {
  readonly path: string;
  readonly reason: string;

  constructor(path: string, reason: string) {
    super('OTLP_DECODE', path === '' ? `invalid OTLP message: ${reason}` : `invalid OTLP message at ${path}: ${reason}`);
    this.path = path;
    this.reason = reason;
  }
}

/** A model value cannot be encoded as OTLP (wrong id length, out-of-range number, nesting too deep). */
export class OtlpEncodeError extends OtlpError {
  readonly path: string;
  readonly reason: string;

  constructor(path: string, reason: string) {
    super('OTLP_ENCODE', path === '' ? `cannot encode OTLP message: ${reason}` : `cannot encode OTLP message at ${path}: ${reason}`);
    this.path = path;
    this.reason = reason;
  }
}

/** Joins a parent path segment and a child path the way paths read in messages. */
export function joinPath(segment: string, child: string): string {
  if (child === '') return segment;
  if (segment === '') return child;
  return child.startsWith('[') ? segment + child : `${segment}.${child}`;
}

/**
 * Re-throws `error` with `segment` (e.g. `spans[5]`) put in front of its path, so the
 * innermost decoder only names its own field and each enclosing level adds its part.
 * Errors that are not ours are re-thrown as they are: they are bugs, not bad input.
 */
export function rethrowUnder(error: unknown, segment: string): never {
  if (error instanceof OtlpDecodeError) throw new OtlpDecodeError(joinPath(segment, error.path), error.reason);
  if (error instanceof OtlpEncodeError) throw new OtlpEncodeError(joinPath(segment, error.path), error.reason);
  throw error;
}
