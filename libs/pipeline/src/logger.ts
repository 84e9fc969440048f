/** The subset of pino's Logger the pipeline uses, so any pino (or nestjs-pino) logger fits. */
export interface PipelineLogger {
  info(object: object, message: string): void;
  warn(object: object, message: string): void;
  error(object: object, message: string): void;
}

export const SILENT_LOGGER: PipelineLogger = Object.freeze({
  info() {},
  warn() {},
  error() {},
});
