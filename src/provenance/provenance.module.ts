import { Module } from '@nestjs/common';
import { MessagesModule } from '../messages/messages.module';
import { ProvenanceResolver } from './provenance.resolver';
import { ProvenanceService } from './provenance.service';
import { SigningModule } from './signing.module';

/** Message signatures: the keys (SigningModule), `verifyMessage` and `rotateSigningKey`. */
@Module({
  imports: [SigningModule, MessagesModule],
  providers: [ProvenanceService, ProvenanceResolver],
})
export class ProvenanceModule {}
