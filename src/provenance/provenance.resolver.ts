import { Args, ID, Mutation, Query, Resolver } from '@nestjs/graphql';
import { AdminOnly, CurrentPrincipal } from '../auth/auth.decorators';
import type { Principal } from '../auth/principal';
import type { BodyReads } from '../messages/body-reads';
import { OperationBodyReads } from '../messages/body-reads.decorators';
import { ProvenanceService } from './provenance.service';

@Resolver()
export class ProvenanceResolver {
  constructor(private readonly provenance: ProvenanceService) {}

  @Query(() => Boolean, {
    description:
      "Whether the message's signature verifies against its fields as stored now, with a key the service knows: false when they changed, when the key is unknown, or when the message has no signature. NOT_FOUND for an unknown or expired message; readable by whoever may read the message by id.",
  })
  async verifyMessage(
    @Args('id', { type: () => ID }) id: string,
    @CurrentPrincipal() principal: Principal,
    @OperationBodyReads() reads: BodyReads,
  ): Promise<boolean> {
    return this.provenance.verify(id, principal, reads);
  }

  @AdminOnly()
  @Mutation(() => String, {
    description:
      'Makes a new generated signing key current on every instance and returns its kid; messages signed before keep verifying. Refused (FORBIDDEN, reason SIGNING_KEY_CONFIGURED) while MESSAGE_SIGNING_KEY is set.',
  })
  async rotateSigningKey(): Promise<string> {
    return this.provenance.rotate();
  }
}
