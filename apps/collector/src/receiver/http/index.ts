export { HTTP_RECEIVER_APP_OPTIONS, HttpReceiverModule, type HttpReceiverAsyncOptions } from './http-receiver.module.ts';
export { OTLP_TRACES_PATH } from './otlp-http-handler.ts';
export { MAX_TENANT_LENGTH, TENANT_HEADER } from './client-key.ts';
