import { Global, Module, type DynamicModule } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { AppConfigService } from './app-config.service';
import { processEnvironment, validateEnvironment } from './environment';

/** Loads and validates the environment once; every module reads it through AppConfigService. */
@Global()
@Module({})
export class AppConfigModule {
  /** `overrides` replace variables of the process environment (tests start apps side by side). */
  static forRoot(overrides: Record<string, string | undefined> = {}): DynamicModule {
    const environment = { ...processEnvironment(), ...overrides };
    return {
      module: AppConfigModule,
      imports: [
        ConfigModule.forRoot({
          ignoreEnvFile: true,
          skipProcessEnv: true,
          validatePredefined: false,
          load: [() => ({ ...validateEnvironment(environment) })],
          cache: true,
        }),
      ],
      providers: [AppConfigService],
      exports: [AppConfigService],
    };
  }
}
