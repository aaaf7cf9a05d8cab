import { Args, Mutation, Resolver } from '@nestjs/graphql';
import { CurrentPrincipal } from '../auth/auth.decorators';
import { AuthService } from '../auth/auth.service';
import { actingMailbox, type Principal } from '../auth/principal';
import { SendMessageInput } from '../messages/send-message.input';
import { MessageRouterService } from './message-router.service';
import { RouteResult } from './route-result.model';

@Resolver(() => RouteResult)
export class RoutingResolver {
  constructor(
    private readonly router: MessageRouterService,
    private readonly auth: AuthService,
  ) {}

  @Mutation(() => RouteResult)
  async sendMessage(
    @Args('input') input: SendMessageInput,
    @CurrentPrincipal() principal: Principal,
  ): Promise<RouteResult> {
    return this.router.route(
      { ...input, sender: actingMailbox(principal, input.sender, 'input.sender') },
      this.auth.isOperator(principal),
    );
  }

  @Mutation(() => [RouteResult], {
    description: 'Up to 100 messages, each validated on its own; results in input order.',
  })
  async sendMessages(
    @Args('inputs', { type: () => [SendMessageInput] }) inputs: SendMessageInput[],
    @CurrentPrincipal() principal: Principal,
  ): Promise<RouteResult[]> {
    return this.router.routeMany(
      inputs,
      (sender, field) => actingMailbox(principal, sender, field),
      this.auth.isOperator(principal),
    );
  }
}
