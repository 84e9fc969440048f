/** Base class of every error the ring library throws; `code` is stable for programs. */
export class RingError extends Error {
  readonly code: string;

  constructor(code: string, message: string) {
    super(message);
    this.name = new.target.name;
    this.code = code;
  }
}

/** A configuration value is out of range or of the wrong type. */
export class RingConfigError extends RingError {
  readonly field: string;

  constructor(field: string, message: string) {
    super('RING_CONFIG', `invalid ring config "${field}": ${message}`);
    this.field = field;
  }
}

/** A push, reserve or claim was attempted after the ring (or its channel) was closed. */
export class RingClosedError extends RingError {
  constructor(what: string) {
    super('RING_CLOSED', `${what} is closed: no more items can be added (the consumer still drains what is there)`);
  }
}

/** An argument of a ring operation is invalid (for example reserve(0) or commit beyond a reservation). */
export class RingArgumentError extends RingError {
  constructor(message: string) {
    super('RING_ARGUMENT', message);
  }
}

/** A producer misused a reservation or claim (committed twice, reserved while one is pending). */
export class RingStateError extends RingError {
  constructor(message: string) {
    super('RING_STATE', message);
  }
}

/** register() was called when the channel already had its maximum number of producers. */
export class TooManyProducersError extends RingError {
  readonly maxProducers: number;

  constructor(maxProducers: number) {
    super(
      'TOO_MANY_PRODUCERS',
      `the channel already has its maximum of ${maxProducers} producers; deregister one or raise maxProducers (1..128)`,
    );
    this.maxProducers = maxProducers;
  }
}

/** A binary record can never fit in the shared ring it was offered to. */
export class RecordTooLargeError extends RingError {
  readonly recordBytes: number;
  readonly maxRecordBytes: number;

  constructor(recordBytes: number, maxRecordBytes: number) {
    super(
      'RECORD_TOO_LARGE',
      `a record of ${recordBytes} bytes cannot fit in this shared ring (at most ${maxRecordBytes} bytes per record); raise ringBits`,
    );
    this.recordBytes = recordBytes;
    this.maxRecordBytes = maxRecordBytes;
  }
}
