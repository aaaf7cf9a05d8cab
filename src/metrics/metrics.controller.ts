import { Controller, Get, Header } from '@nestjs/common';
import { AdminOnly } from '../auth/auth.decorators';
import { MetricsService } from './metrics.service';

@Controller()
export class MetricsController {
  constructor(private readonly metrics: MetricsService) {}

  /** Prometheus text format; scrape with the admin token as a bearer token. */
  @AdminOnly()
  @Get('metrics')
  @Header('Content-Type', 'text/plain; version=0.0.4; charset=utf-8')
  async scrape(): Promise<string> {
    return this.metrics.render();
  }
}
