import { Injectable } from '@nestjs/common';
import { ForbiddenError, type Principal } from '../auth/principal';
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
  async verify(id: string, principal: Principal): Promise<boolean> {
    const message = await this.messages.find(id);
    if (message === null) throw new MessageNotFoundError(id);
    if (!(await this.messages.mayRead(message, principal))) {
      throw new ForbiddenError(
        'id',
        'this message is neither from nor to the mailbox of this token',
      );
    }
    return this.keys.verify(message);
  }

  /** Makes a new generated key current on every instance; returns its kid. */
  async rotate(): Promise<string> {
    return this.keys.rotate();
  }
}
