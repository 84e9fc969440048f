import type { IncomingMessage, ServerResponse } from 'node:http';
import { Catch, NotFoundException, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import { parseOtlpMediaType } from './media-type.ts';
import { RpcCode, sendStatus } from './responses.ts';

/**
 * 404s for OTLP clients: a request with an OTLP Content-Type on an unknown path (an SDK sending
 * metrics or logs to /v1/metrics, a typo in the traces path) gets a google.rpc.Status in its
 * own encoding, as OTLP/HTTP says failures are answered. Every other 404 gets exactly the body
 * Nest's default filter would send, so the rest of the app sees no difference.
 *
 * Registered as APP_FILTER (global: the router's "no route" 404 only reaches global filters).
 */
@Catch(NotFoundException)
export class OtlpNotFoundFilter implements ExceptionFilter<NotFoundException> {
  catch(exception: NotFoundException, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const req = http.getRequest<IncomingMessage>();
    const res = http.getResponse<ServerResponse>();
    const format = parseOtlpMediaType(req.headers['content-type']);
    if (format !== undefined) {
      sendStatus(res, format, { httpStatus: 404, rpcCode: RpcCode.NOT_FOUND, message: exception.message });
      return;
    }
    if (res.headersSent) {
      res.end();
      return;
    }
    // Nest's BaseExceptionFilter body for an HttpException.
    const response = exception.getResponse();
    const body = typeof response === 'object' ? response : { statusCode: exception.getStatus(), message: response };
    const text = JSON.stringify(body);
    res.statusCode = exception.getStatus();
    res.setHeader('Content-Type', 'application/json; charset=utf-8');
    res.setHeader('Content-Length', String(Buffer.byteLength(text)));
    res.end(text);
  }
}
