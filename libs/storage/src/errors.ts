/** Base class of the durable log's errors; `code` is stable for programs. */
export class StorageError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** The log's directory cannot be used: missing, not a directory, not writable, or held by another process. */
export class StorageConfigError extends StorageError {
  readonly directory: string;

  constructor(directory: string, problem: string) {
    super('STORAGE_CONFIG', `${JSON.stringify(directory)} ${problem}`);
    this.directory = directory;
  }
}

/** The log holds its size cap: nothing more is appended until consumers catch up. */
export class StorageFullError extends StorageError {
  constructor(liveBytes: number, maxBytes: number) {
    super('STORAGE_FULL', `the durable log holds ${liveBytes} of its ${maxBytes} bytes; retry once the exporters have caught up`);
  }
}

/** A write, sync or read failed (disk full, I/O error, closed log); the path and the system code say which. */
export class StorageIoError extends StorageError {
  readonly path: string;
  readonly systemCode: string | undefined;

  constructor(operation: string, path: string, cause: unknown) {
    const systemCode = (cause as NodeJS.ErrnoException | undefined)?.code;
    super('STORAGE_IO', `${operation} ${path} failed: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.path = path;
    this.systemCode = systemCode;
  }
}
