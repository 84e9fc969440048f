/** Byte sizes of the receivers, as the Collector writes them. */

export const MIB = 1024 * 1024;

/**
 * Default limit on one request (HTTP body after decompression, one gRPC message): 64 MiB.
 * Not confighttp's 20 MiB or grpc's 4 MiB: batching SDKs send large exports, and a
 * rejected export is lost data on the sender's side.
 */
export const DEFAULT_MAX_REQUEST_BYTES = 64 * MIB;

/** max_recv_msg_size_mib → bytes; 0 (or absent) means the default, as an unset Go field is 0. */
export function grpcMessageLimitBytes(mib: number | undefined): number {
  return mib === undefined || mib === 0 ? DEFAULT_MAX_REQUEST_BYTES : mib * MIB;
}

/** max_request_body_size (bytes); 0 (or absent) means the default, as confighttp treats ≤ 0. */
export function httpBodyLimitBytes(bytes: number | undefined): number {
  return bytes === undefined || bytes === 0 ? DEFAULT_MAX_REQUEST_BYTES : bytes;
}
