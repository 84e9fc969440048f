export { GrpcReceiverModule, OtlpGrpcReceiver } from './grpc/index.ts';
export { HTTP_RECEIVER_APP_OPTIONS, HttpReceiverModule } from './http/index.ts';
