import { Module, type DynamicModule } from '@nestjs/common';
import { GRPC_RECEIVER_SETTINGS, type GrpcReceiverSettings } from '../../config/runtime-config.ts';
import { GRPC_RECEIVER_TUNING, OtlpGrpcReceiver, type GrpcReceiverTuning } from './otlp-grpc.receiver.ts';

/**
 * The OTLP/gRPC receiver as a Nest module: `GrpcReceiverModule.forRoot(config.receivers.grpc)`
 * next to `CollectorModule.forRoot(...)` (global, so it is not imported here). The server
 * starts listening in onModuleInit (`app.get(OtlpGrpcReceiver).port` is the bound port) and
 * drains in beforeApplicationShutdown, before the collector drains.
 */
@Module({})
export class GrpcReceiverModule {
  static forRoot(settings: GrpcReceiverSettings, tuning: GrpcReceiverTuning = {}): DynamicModule {
    return {
      module: GrpcReceiverModule,
      providers: [
        { provide: GRPC_RECEIVER_SETTINGS, useValue: settings },
        { provide: GRPC_RECEIVER_TUNING, useValue: tuning },
        OtlpGrpcReceiver,
      ],
      exports: [OtlpGrpcReceiver],
    };
  }
}
