import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Endpoint } from '../config/runtime-config.ts';

/**
 * A small HTTP server for the service's side endpoints (metrics, health): plain node:http,
 * because they must keep answering while the Nest HTTP app (the OTLP receiver) drains.
 */
export class EndpointServer {
  private readonly server: Server;
  private readonly endpoint: Endpoint;

  constructor(endpoint: Endpoint, handler: (req: IncomingMessage, res: ServerResponse) => void | Promise<void>) {
    this.endpoint = endpoint;
    this.server = createServer((req, res) => {
      Promise.resolve(handler(req, res)).catch((error: unknown) => {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(`internal error: ${error instanceof Error ? error.message : String(error)}\n`);
      });
    });
    this.server.keepAliveTimeout = 5_000;
  }

  listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.endpoint.port, this.endpoint.host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
  }

  /** The bound port (useful when configured with port 0). */
  get port(): number {
    return (this.server.address() as AddressInfo | null)?.port ?? this.endpoint.port;
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeIdleConnections();
    });
  }
}
