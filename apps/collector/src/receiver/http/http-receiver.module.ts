import { Module, type DynamicModule, type ModuleMetadata, type NestApplicationOptions } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { HTTP_RECEIVER_SETTINGS, type HttpReceiverSettings } from '../../config/runtime-config.ts';
import { ClientProducers } from './client-producers.ts';
import { OtlpHttpController } from './otlp-http.controller.ts';
import { OtlpNotFoundFilter } from './otlp-not-found.filter.ts';

export interface HttpReceiverAsyncOptions {
  readonly imports?: ModuleMetadata['imports'];
  readonly inject?: readonly (string | symbol | (abstract new (...args: never[]) => unknown))[];
  readonly useFactory: (...args: never[]) => HttpReceiverSettings | Promise<HttpReceiverSettings>;
}

/**
 * The OTLP/HTTP receiver: POST /v1/traces into the global CollectorModule's SpanCollectorService.
 *
 * Wiring: import `HttpReceiverModule.forRoot(config.receivers.http)` (or `forRootAsync`, or
 * `HttpReceiverModule.forRoot()` with no argument when HTTP_RECEIVER_SETTINGS is provided
 * globally) next to `CollectorModule.forRoot(...)`; create the app with
 * HTTP_RECEIVER_APP_OPTIONS (`bodyParser: false`: the receiver streams and limits the body
 * itself) and listen on the settings' host and port. The module only uses maxRequestBodyBytes.
 */
@Module({})
export class HttpReceiverModule {
  static forRoot(settings?: HttpReceiverSettings): DynamicModule {
    return HttpReceiverModule.withProviders(settings === undefined ? [] : [{ provide: HTTP_RECEIVER_SETTINGS, useValue: settings }]);
  }

  static forRootAsync(options: HttpReceiverAsyncOptions): DynamicModule {
    return {
      ...HttpReceiverModule.withProviders([
        { provide: HTTP_RECEIVER_SETTINGS, useFactory: options.useFactory, inject: [...(options.inject ?? [])] },
      ]),
      imports: options.imports ?? [],
    };
  }

  private static withProviders(settingsProviders: NonNullable<ModuleMetadata['providers']>): DynamicModule {
    return {
      module: HttpReceiverModule,
      controllers: [OtlpHttpController],
      providers: [...settingsProviders, ClientProducers, { provide: APP_FILTER, useClass: OtlpNotFoundFilter }],
    };
  }
}

/** Options the Nest app hosting the receiver must be created with. */
export const HTTP_RECEIVER_APP_OPTIONS = { bodyParser: false } as const satisfies NestApplicationOptions;

