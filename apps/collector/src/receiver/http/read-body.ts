/**
 * Reads a request body from the raw stream (the app runs without Nest's body parsers), gunzips
 * it on the fly, and stops at the size limit. The limit applies twice: to the bytes on the
 * wire and to the bytes after decompression, each counted as they stream, so neither a huge
 * upload nor a small gzip bomb can make the receiver hold more than `maxBytes` (plus one zlib
 * chunk) in memory.
 */
import type { IncomingMessage } from 'node:http';
import { createGunzip, type Gunzip } from 'node:zlib';
import type { BodyCoding } from './media-type.ts';

/** The body is larger than the limit, on the wire or once decompressed → 413. */
export class BodyTooLargeError extends Error {
  readonly limitBytes: number;
  readonly decompressed: boolean;

  constructor(limitBytes: number, decompressed: boolean) {
    super(
      decompressed
        ? `the decompressed request body exceeds the limit of ${limitBytes} bytes`
        : `the request body exceeds the limit of ${limitBytes} bytes`,
    );
    this.name = 'BodyTooLargeError';
    this.limitBytes = limitBytes;
    this.decompressed = decompressed;
  }
}

/** The body says it is gzip but is not a valid gzip stream (corrupt or truncated) → 400. */
export class BodyEncodingError extends Error {
  constructor(cause: unknown) {
    super(`the request body is not valid gzip: ${(cause as Error).message}`, { cause });
    this.name = 'BodyEncodingError';
  }
}

/** The client went away before the body ended; there is nobody left to answer. */
export class BodyAbortedError extends Error {
  constructor() {
    super('the client closed the connection before the request body ended');
    this.name = 'BodyAbortedError';
  }
}

export interface ReadBodyOptions {
  readonly maxBytes: number;
  readonly coding: BodyCoding;
  /** Where an identity body of declared length is read into; default Buffer.allocUnsafeSlow. */
  readonly allocate?: ((length: number) => Buffer) | undefined;
}

/**
 * Resolves with the (decompressed) body. On failure the request stream is left flowing with
 * no listener, so the rest of the upload is discarded as it arrives (never decompressed) while
 * the caller answers; the caller should close the connection after the answer.
 */
/** Largest declared body read into a buffer allocated up front (a 512-span request is ~250 KiB). */
const PREALLOCATE_MAX_BYTES = 4 * 1024 * 1024;

export function readBody(req: IncomingMessage, options: ReadBodyOptions): Promise<Buffer> {
  const { maxBytes } = options;
  const declared = declaredLength(req);
  // Known too large from the headers alone: refuse before reading a byte.
  if (declared !== undefined && declared > maxBytes) return Promise.reject(new BodyTooLargeError(maxBytes, false));

  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let wireBytes = 0;
    let bodyBytes = 0;
    let settled = false;
    const gunzip: Gunzip | undefined = options.coding === 'gzip' ? createGunzip() : undefined;
    // An identity body of known length is copied straight into one buffer of that size: no
    // list of chunks and no concat copy at the end. Not from Buffer's pool: spans point into it.
    // Only up to PREALLOCATE_MAX_BYTES, so a client cannot reserve a large buffer by declaring
    // a length it never sends; larger bodies are gathered as they arrive.
    const preallocate = gunzip === undefined && declared !== undefined && declared > 0 && declared <= PREALLOCATE_MAX_BYTES;
    let body = preallocate ? (options.allocate ?? Buffer.allocUnsafeSlow)(declared) : undefined;

    const cleanup = (): void => {
      req.off('data', onWireData);
      req.off('end', onWireEnd);
      req.off('error', onAborted);
      req.off('close', onClose);
      if (gunzip !== undefined) {
        gunzip.off('data', onBodyData);
        gunzip.off('end', onBodyEnd);
        gunzip.off('drain', onDrain);
        // Stops zlib at once: a bomb's remaining output is never produced.
        gunzip.destroy();
      }
      // Keep the upload flowing into nothing, so the client can finish sending and read our answer.
      req.resume();
    };
    const fail = (error: Error): void => {
      if (settled) return;
      settled = true;
      cleanup();
      reject(error);
    };
    const onBodyData = (chunk: Buffer): void => {
      if (settled) return;
      if (bodyBytes + chunk.length > maxBytes) return fail(new BodyTooLargeError(maxBytes, gunzip !== undefined));
      if (body !== undefined && bodyBytes + chunk.length > body.length) {
        // Node's parser never delivers more than Content-Length; should it, keep every byte anyway.
        chunks.push(body.subarray(0, bodyBytes));
        body = undefined;
      }
      if (body !== undefined) body.set(chunk, bodyBytes);
      else chunks.push(chunk);
      bodyBytes += chunk.length;
    };
    const onBodyEnd = (): void => {
      if (settled) return;
      settled = true;
      cleanup();
      if (body !== undefined) resolve(bodyBytes === body.length ? body : body.subarray(0, bodyBytes));
      else resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, bodyBytes));
    };
    const onDrain = (): void => {
      req.resume();
    };
    const onWireData = (chunk: Buffer): void => {
      if (settled) return;
      wireBytes += chunk.length;
      if (wireBytes > maxBytes) return fail(new BodyTooLargeError(maxBytes, false));
      if (gunzip === undefined) return onBodyData(chunk);
      // zlib's backpressure: do not queue more compressed input than it can work through.
      if (!gunzip.write(chunk)) req.pause();
    };
    const onWireEnd = (): void => {
      if (gunzip === undefined) onBodyEnd();
      else gunzip.end();
    };
    const onAborted = (): void => fail(new BodyAbortedError());
    const onClose = (): void => {
      if (!req.complete) fail(new BodyAbortedError());
    };

    if (gunzip !== undefined) {
      gunzip.on('data', onBodyData);
      gunzip.on('end', onBodyEnd);
      gunzip.on('drain', onDrain);
      gunzip.on('error', (error) => fail(new BodyEncodingError(error)));
    }
    req.on('data', onWireData);
    req.on('end', onWireEnd);
    req.on('error', onAborted);
    req.on('close', onClose);
  });
}

function declaredLength(req: IncomingMessage): number | undefined {
  const header = req.headers['content-length'];
  if (header === undefined) return undefined;
  const length = Number(header);
  return Number.isSafeInteger(length) && length >= 0 ? length : undefined;
}
