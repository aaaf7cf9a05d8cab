import { Catch, type ArgumentsHost } from '@nestjs/common';
import { BaseExceptionFilter, HttpAdapterHost } from '@nestjs/core';
import { GqlArgumentsHost, type GqlContextType, type GqlExceptionFilter } from '@nestjs/graphql';
import type { GraphQLError } from 'graphql';
import { AppError } from '../common/app-error';
import { AppConfigService } from '../config/app-config.service';
import type { GraphqlContext } from './graphql-context';
import { httpStatusOf, toGraphqlError } from './graphql-error';
import { asJsonRpc, bodyRefusal } from './request-body';

/**
 * The one filter at the edge: GraphQL errors get their code (an unexpected one is logged with
 * the operation's request id as `reqId`); a body refused while it was read is answered as a
 * GraphQL error naming the field and the limit (on /mcp, as a JSON-RPC error carrying them);
 * on plain HTTP routes an AppError becomes its status with the same code and message;
 * anything else keeps Nest's handling.
 */
@Catch()
export class AppErrorFilter extends BaseExceptionFilter implements GqlExceptionFilter {
  private readonly bodyLimit: number;

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    config: AppConfigService,
  ) {
    super(adapterHost.httpAdapter);
    this.bodyLimit = config.limits.maxRequestBytes;
  }

  override catch(exception: unknown, host: ArgumentsHost): GraphQLError | void {
    if (host.getType<GqlContextType>() === 'graphql') {
      const context = GqlArgumentsHost.create(host).getContext<GraphqlContext | undefined>();
      return toGraphqlError(exception, 'resolver', context?.requestId);
    }
    if (host.getType() === 'http') {
      const request = host
        .switchToHttp()
        .getRequest<{ headers: Record<string, string>; url?: string }>();
      const refused = bodyRefusal(exception, request.headers['content-length'], this.bodyLimit);
      if (refused) {
        const mcp = request.url === '/mcp' || request.url?.startsWith('/mcp?') === true;
        this.adapterHost.httpAdapter.reply(
          host.switchToHttp().getResponse(),
          mcp ? asJsonRpc(refused) : refused.body,
          refused.status,
        );
        return;
      }
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
