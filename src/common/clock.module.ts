import { Global, Module } from '@nestjs/common';
import { Clock } from './clock';

/**
 * The one Clock of the application, for every module. A test replaces it with
 * `.overrideProvider(Clock).useValue(new ManualClock(...))`.
 */
@Global()
@Module({ providers: [Clock], exports: [Clock] })
export class ClockModule {}
