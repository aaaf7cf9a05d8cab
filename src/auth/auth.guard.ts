import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { GqlExecutionContext, type GqlContextType } from '@nestjs/graphql';
import type { GraphQLResolveInfo } from 'graphql';
import { BatchTooLargeError, MAX_BATCH } from '../routing/routing.errors';
import { ADMIN_ONLY_KEY, PUBLIC_KEY, type RequestContext } from './auth.decorators';
import { AuthService } from './auth.service';
import { assertAdmin, type Principal } from './principal';

const ROOT_TYPES = new Set(['Query', 'Mutation', 'Subscription']);

/** What a root field costs the caller's rate limit: one per message of a batch, else one. */
function costOf(args: { inputs?: unknown[] }): number {
  return Array.isArray(args.inputs) ? Math.max(1, args.inputs.length) : 1;
}

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
    const info = graphql.getInfo<GraphQLResolveInfo>();
    const root = ROOT_TYPES.has(info.parentType.name);
    const args = root ? graphql.getArgs<{ inputs?: unknown[] }>() : {};
    const authorization = request.req?.headers.authorization;
    if (Array.isArray(args.inputs) && args.inputs.length > MAX_BATCH) {
      // Refused before anything is charged: no rate limit would ever let it pass. The token
      // is still checked first, so that a caller without one learns that.
      request.principal ??= await this.auth.authenticate(authorization);
      throw new BatchTooLargeError(args.inputs.length, MAX_BATCH);
    }
    const cost = root ? costOf(args) : 0;
    if (request.principal === undefined && root && !adminOnly) {
      // The request's first operation: the token's check and its charge in one Redis call.
      request.principal = await this.auth.authenticateCharged(authorization, cost);
      return true;
    }
    const principal: Principal = request.principal ?? (await this.auth.authenticate(authorization));
    request.principal = principal;
    if (root) {
      // An admin-only operation refuses a mailbox token before anything is charged.
      if (adminOnly) assertAdmin(principal, info.fieldName);
      await this.auth.charge(principal, cost);
    }
    return true;
  }
}
