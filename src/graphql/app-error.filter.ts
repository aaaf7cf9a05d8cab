import { Catch, type ArgumentsHost } from '@nestjs/common';
import { BaseExceptionFilter, HttpAdapterHost } from '@nestjs/core';
import type { GqlContextType, GqlExceptionFilter } from '@nestjs/graphql';
import type { GraphQLError } from 'graphql';
import { AppError } from '../common/app-error';
import { httpStatusOf, toGraphqlError } from './graphql-error';

/**
 * The one filter at the edge: GraphQL errors get their code; on plain HTTP routes an AppError
 * becomes its status with the same code and message, and anything else keeps Nest's handling.
 */
@Catch()
export class AppErrorFilter extends BaseExceptionFilter implements GqlExceptionFilter {
  constructor(private readonly adapterHost: HttpAdapterHost) {
    super(adapterHost.httpAdapter);
  }

  override catch(exception: unknown, host: ArgumentsHost): GraphQLError | void {
    if (host.getType<GqlContextType>() === 'graphql') {
      return toGraphqlError(exception, 'resolver');
    }
    if (exception instanceof AppError && host.getType() === 'http') {
      const status = httpStatusOf(exception.code);
      this.adapterHost.httpAdapter.reply(
        host.switchToHttp().getResponse(),
        { statusCode: status, code: exception.code, message: exception.message },
        status,
      );
      return;
    }
    super.catch(exception, host);
  }
}
