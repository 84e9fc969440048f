import { Controller, Get } from '@nestjs/common';

export interface HealthStatus {
  status: 'ok';
  uptimeSeconds: number;
}

@Controller()
export class HealthController {
  private readonly startedAt = Date.now();

  @Get()
  health(): HealthStatus {
    return { status: 'ok', uptimeSeconds: (Date.now() - this.startedAt) / 1000 };
  }
}
