export { GrpcReceiverModule } from './grpc-receiver.module.ts';
export { GRPC_RECEIVER_TUNING, OtlpGrpcReceiver, type GrpcReceiverTuning } from './otlp-grpc.receiver.ts';
export { TENANT_METADATA_KEY } from './client-key.ts';
export type { ClientInfo } from './client-leases.ts';
