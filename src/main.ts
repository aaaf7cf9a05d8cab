import 'reflect-metadata';
import { Logger, type LogLevel } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AppModule } from './app.module';
import { configureApp } from './app.setup';
import { AppConfigService } from './config/app-config.service';
import { ConfigurationError, processEnvironment, validateEnvironment } from './config/environment';

const LEVELS: LogLevel[] = ['fatal', 'error', 'warn', 'log', 'debug', 'verbose'];

/** LOG_LEVEL names the most verbose level shown; everything more severe is shown too. */
function logLevelsFrom(level: LogLevel): LogLevel[] {
  return LEVELS.slice(0, LEVELS.indexOf(level) + 1);
}

async function bootstrap(): Promise<void> {
  try {
    validateEnvironment(processEnvironment());
  } catch (error) {
    if (error instanceof ConfigurationError) {
      // One line naming the variable and the rule; no stack trace for a configuration typo.
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
  const app = await NestFactory.create(AppModule.forRoot(), {
    bodyParser: false,
    bufferLogs: true,
  });
  const config = app.get(AppConfigService);
  app.useLogger(logLevelsFrom(config.logLevel));
  configureApp(app);
  await app.listen(config.port);
  new Logger('Bootstrap').log(
    `serving on http://localhost:${config.port}/graphql (ws://localhost:${config.port}/graphql for subscriptions)`,
  );
}

void bootstrap();
