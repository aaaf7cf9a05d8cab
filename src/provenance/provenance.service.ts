import { Injectable } from '@nestjs/common';
import type { Principal } from '../auth/principal';
import type { BodyReads } from '../messages/body-reads';
import { MessageNotFoundError } from '../messages/message.errors';
import { MessagesService } from '../messages/messages.service';
import { SigningKeysService } from './signing-keys.service';

/** Checks stored messages against their signatures, and rotates the generated signing key. */
@Injectable()
export class ProvenanceService {
  constructor(
    private readonly messages: MessagesService,
    private readonly keys: SigningKeysService,
  ) {}

  /**
   * Whether the stored message's signature verifies against its fields as stored now. Readable
   * by whoever may read the message by id; NOT_FOUND for an unknown or expired message.
   */
  async verify(id: string, principal: Principal, reads: BodyReads): Promise<boolean> {
    const message = await this.messages.findReadable(id, principal, reads);
    if (message === null) throw new MessageNotFoundError(id);
    return this.keys.verify(message);
  }

  /** Makes a new generated key current on every instance; returns its kid. */
  async rotate(): Promise<string> {
    return this.keys.rotate();
  }
}
