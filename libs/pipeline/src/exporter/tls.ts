import { readFileSync } from 'node:fs';
import { PipelineConfigError } from '../errors.ts';

/** The Collector's client `tls` block (configtls.ClientConfig): the settings Spanring implements. */
export interface TlsOptions {
  /** otelcol `tls.insecure`: plaintext gRPC, no TLS at all. Default false. (otlp_http: the URL scheme decides.) */
  readonly insecure?: boolean;
  /** otelcol `tls.insecure_skip_verify`: TLS without checking the server's certificate. Default false. */
  readonly insecureSkipVerify?: boolean;
  /** otelcol `tls.ca_file`: PEM roots to trust instead of the system's. */
  readonly caFile?: string;
  /** otelcol `tls.cert_file`: PEM client certificate chain (mutual TLS); needs keyFile. */
  readonly certFile?: string;
  /** otelcol `tls.key_file`: PEM private key of certFile. */
  readonly keyFile?: string;
}

/** PEM material read from the files a TlsOptions names. */
export interface TlsMaterial {
  readonly ca: Buffer | undefined;
  readonly cert: Buffer | undefined;
  readonly key: Buffer | undefined;
}

/**
 * Reads the TLS files once, at construction, so a wrong path is a config error at startup
 * rather than a failure on every export. `path` is the option's path for messages ("tls").
 */
export function loadTlsMaterial(tls: TlsOptions | undefined, path: string): TlsMaterial {
  if ((tls?.certFile === undefined) !== (tls?.keyFile === undefined)) {
    throw new PipelineConfigError(`${path}.${tls?.certFile === undefined ? 'certFile' : 'keyFile'}`, 'certFile and keyFile go together for mutual TLS: set both or neither');
  }
  return {
    ca: readPem(tls?.caFile, `${path}.caFile`),
    cert: readPem(tls?.certFile, `${path}.certFile`),
    key: readPem(tls?.keyFile, `${path}.keyFile`),
  };
}

function readPem(file: string | undefined, path: string): Buffer | undefined {
  if (file === undefined) return undefined;
  try {
    return readFileSync(file);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new PipelineConfigError(path, `cannot read "${file}": ${reason}`);
  }
}
