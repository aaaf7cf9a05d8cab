import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AppModule } from './app.module';
import { configureApp } from './app.setup';
import { AppConfigService } from './config/app-config.service';
import { ConfigurationError, processEnvironment, validateEnvironment } from './config/environment';

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
  const app = await NestFactory.create(AppModule.forRoot(), { bodyParser: false, bufferLogs: true });
  configureApp(app);
  const config = app.get(AppConfigService);
  await app.listen(config.port);
  new Logger('Bootstrap').log(`serving on http://localhost:${config.port}/graphql (ws://localhost:${config.port}/graphql for subscriptions)`);
}

void bootstrap();
