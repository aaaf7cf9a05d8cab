import { Injectable } from '@nestjs/common';
import { Clock } from '../common/clock';

/** Whether the process is shutting down: readiness turns 503 at once when it does. */
@Injectable()
export class LifecycleService {
  private stoppingSince: number | null = null;

  constructor(private readonly clock: Clock) {}

  get stopping(): boolean {
    return this.stoppingSince !== null;
  }

  beginShutdown(): void {
    this.stoppingSince ??= this.clock.now();
  }
}
