import { Injectable, Logger, type CanActivate, type OnModuleInit } from '@nestjs/common';
import { AppConfigService } from '../config/app-config.service';

/**
 * The single gate every resolver passes through (registered as the global guard), so that
 * authentication switches on in one place. Token checks are not enforced by this version:
 * every operation is open, and the start says so when AUTH_ENABLED is true.
 */
@Injectable()
export class AuthGuard implements CanActivate, OnModuleInit {
  private readonly logger = new Logger(AuthGuard.name);

  constructor(private readonly config: AppConfigService) {}

  onModuleInit(): void {
    if (this.config.auth.enabled) {
      this.logger.warn(
        'AUTH_ENABLED=true, but this version does not enforce tokens yet: every operation is open. Do not expose it beyond a trusted network.',
      );
    }
  }

  canActivate(): boolean {
    return true;
  }
}
