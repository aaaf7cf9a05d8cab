import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { GqlExecutionContext, type GqlContextType } from '@nestjs/graphql';
import type { GraphQLResolveInfo } from 'graphql';
import { ADMIN_ONLY_KEY, PUBLIC_KEY, type RequestContext } from './auth.decorators';
import { AuthService } from './auth.service';
import { assertAdmin, type Principal } from './principal';

const ROOT_TYPES = new Set(['Query', 'Mutation', 'Subscription']);

/**
 * The single gate of every operation, over HTTP and WebSocket: establishes the caller from
 * its token, enforces admin-only operations and charges the caller's rate limit once per
 * root field (a batch of sends costs one per message). Ownership of a mailbox is checked by
 * the resolvers, which know which mailbox an operation touches.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly auth: AuthService,
    private readonly reflector: Reflector,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC_KEY, targets)) return true;
    const adminOnly = this.reflector.getAllAndOverride<boolean>(ADMIN_ONLY_KEY, targets) === true;

    if (context.getType<GqlContextType>() !== 'graphql') {
      const request = context.switchToHttp().getRequest<{ headers: Record<string, unknown> }>();
      const principal = await this.auth.authenticate(request.headers.authorization);
      if (adminOnly) assertAdmin(principal, 'this endpoint');
      return true;
    }

    const graphql = GqlExecutionContext.create(context);
    const request = graphql.getContext<RequestContext>();
    const principal: Principal =
      request.principal ?? (await this.auth.authenticate(request.req?.headers.authorization));
    request.principal = principal;
    const info = graphql.getInfo<GraphQLResolveInfo>();
    if (ROOT_TYPES.has(info.parentType.name)) {
      if (adminOnly) assertAdmin(principal, info.fieldName);
      const args = graphql.getArgs<{ inputs?: unknown[] }>();
      await this.auth.charge(
        principal,
        Array.isArray(args.inputs) ? Math.max(1, args.inputs.length) : 1,
      );
    }
    return true;
  }
}
