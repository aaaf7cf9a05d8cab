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
  /** Each handler's decorators, read once: they do not change after the application starts. */
  private readonly access = new WeakMap<object, { isPublic: boolean; adminOnly: boolean }>();

  constructor(
    private readonly auth: AuthService,
    private readonly reflector: Reflector,
  ) {}

  private accessOf(context: ExecutionContext): { isPublic: boolean; adminOnly: boolean } {
    const handler = context.getHandler();
    let access = this.access.get(handler);
    if (!access) {
      const targets = [handler, context.getClass()];
      access = {
        isPublic: this.reflector.getAllAndOverride<boolean>(PUBLIC_KEY, targets) === true,
        adminOnly: this.reflector.getAllAndOverride<boolean>(ADMIN_ONLY_KEY, targets) === true,
      };
      this.access.set(handler, access);
    }
    return access;
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const { isPublic, adminOnly } = this.accessOf(context);
    if (isPublic) return true;

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
