export { Channel, Producer } from './channel.ts';
export {
  DEFAULT_CONFIG,
  HIGH_THROUGHPUT_CONFIG,
  LOW_LATENCY_CONFIG,
  MAX_PRODUCERS_LIMIT,
  RING_BITS_MAX,
  RING_BITS_MIN,
  resolveConfig,
  type RingConfig,
} from './config.ts';
export {
  RecordTooLargeError,
  RingArgumentError,
  RingClosedError,
  RingConfigError,
  RingError,
  RingStateError,
  TooManyProducersError,
} from './errors.ts';
export { RingMetrics, type RingMetricsSnapshot } from './metrics.ts';
export { Notified, Notify, type NotifiedOptions } from './notify.ts';
export { Reservation, Ring, type ItemHandler, type RingOptions } from './ring.ts';
export { SharedChannel, type SharedChannelHandle, type SharedChannelOptions } from './shared-channel.ts';
export {
  SHARED_RING_BITS_DEFAULT,
  SHARED_RING_BITS_MAX,
  SHARED_RING_BITS_MIN,
  type SharedRingHandle,
} from './shared-layout.ts';
export { SharedNotify } from './shared-notify.ts';
export {
  createSharedRing,
  SharedRingConsumer,
  SharedRingProducer,
  type RecordHandler,
  type SharedClaim,
  type SharedRingOptions,
} from './shared-ring.ts';
