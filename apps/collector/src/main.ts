import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { AppModule } from './app.module.ts';

const DEFAULT_HEALTH_ENDPOINT = '0.0.0.0:13133';

function parseEndpoint(endpoint: string): { host: string; port: number } {
  const separator = endpoint.lastIndexOf(':');
  const port = Number(endpoint.slice(separator + 1));
  if (separator < 0 || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`invalid endpoint "${endpoint}": expected host:port with a port from 0 to 65535`);
  }
  return { host: endpoint.slice(0, separator), port };
}

async function bootstrap(): Promise<void> {
  const { host, port } = parseEndpoint(process.env.SPANRING_HEALTH_ENDPOINT ?? DEFAULT_HEALTH_ENDPOINT);
  const app = await NestFactory.create(AppModule, { logger: ['log', 'warn', 'error'] });
  app.enableShutdownHooks();
  await app.listen(port, host);
  console.log(`spanring: health on http://${host}:${port}/`);
}

await bootstrap();
