import { Int, Parent, ResolveField, Resolver } from '@nestjs/graphql';
import { Message } from '../messages/message.model';
import { estimateTokens } from './token-estimate';

/** Message.tokenEstimate: a pure function of the stored content and metadata. */
@Resolver(() => Message)
export class TokenEstimateResolver {
  @ResolveField(() => Int, {
    description:
      "Tokens of the body: the sender's provider count from metadata.usage (output_tokens, completion_tokens or total_tokens) when given, else an offline o200k estimate. What the budgets count.",
  })
  tokenEstimate(@Parent() message: Message): number {
    return estimateTokens(message.content, message.metadata);
  }
}
