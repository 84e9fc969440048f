export { WorkerReceivers, WorkerReceiversModule, type WorkerReceiverSettings } from './worker-receivers.module.ts';
export { ReceiverWorkerStartError, WORKER_RING_BITS } from './receiver-pool.ts';
