import { Injectable } from '@nestjs/common';

/** Whether the process is shutting down: readiness turns 503 at once when it does. */
@Injectable()
export class LifecycleService {
  private stoppingSince: number | null = null;

  get stopping(): boolean {
    return this.stoppingSince !== null;
  }

  beginShutdown(): void {
    this.stoppingSince ??= Date.now();
  }
}
