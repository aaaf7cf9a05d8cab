import { createParamDecorator, SetMetadata, type ExecutionContext } from '@nestjs/common';
import { GqlExecutionContext } from '@nestjs/graphql';
import { ADMIN, type Principal } from './principal';

export const PUBLIC_KEY = 'auth:public';
export const ADMIN_ONLY_KEY = 'auth:admin-only';

/** No token needed (health probes). */
export const Public = (): MethodDecorator & ClassDecorator => SetMetadata(PUBLIC_KEY, true);

/** Only the admin token (registration, deactivation, statistics, listing every mailbox). */
export const AdminOnly = (): MethodDecorator & ClassDecorator => SetMetadata(ADMIN_ONLY_KEY, true);

/** The context every GraphQL operation carries, over HTTP and over WebSocket. */
export interface RequestContext {
  req?: { headers: Record<string, string | string[] | undefined> };
  principal?: Principal;
}

/** The caller, as the guard established it. */
export const CurrentPrincipal = createParamDecorator(
  (_data: unknown, context: ExecutionContext): Principal => {
    const request = GqlExecutionContext.create(context).getContext<RequestContext>();
    return request.principal ?? ADMIN;
  },
);
