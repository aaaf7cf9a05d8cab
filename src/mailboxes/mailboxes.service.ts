import { Injectable } from '@nestjs/common';
import { issueMailboxToken, tokenDigest } from '../auth/tokens';
import { Clock } from '../common/clock';
import { exceedsJsonDepth } from '../common/json-depth';
import { AppConfigService } from '../config/app-config.service';
import { NOTICE_SENDER } from '../delivery/delivery-notice.service';
import { InvalidFieldError, JsonTooDeepError } from '../messages/message.errors';
import { MessagesService, type MessagePage } from '../messages/messages.service';
import { assertMailboxName } from '../routing/address';
import { MailboxExistsError, MailboxNotFoundError } from './mailbox.errors';
import { MailboxRepository, type MailboxRecord } from './mailbox.repository';

const MAX_METADATA_BYTES = 64 * 1024;

/** Registration, deactivation and reading of mailboxes. */
@Injectable()
export class MailboxesService {
  constructor(
    private readonly mailboxes: MailboxRepository,
    private readonly messageReader: MessagesService,
    private readonly config: AppConfigService,
    private readonly clock: Clock,
  ) {}

  /** Registers (or reactivates) a mailbox and returns it with its new token. */
  async register(
    nameArg: string,
    metadata: unknown,
  ): Promise<{ mailbox: MailboxRecord; token: string }> {
    const name = assertMailboxName(nameArg, 'name');
    if (name === NOTICE_SENDER) {
      throw new InvalidFieldError(
        'name',
        `"${NOTICE_SENDER}" is reserved for the service's delivery notices`,
      );
    }
    if (metadata !== null && metadata !== undefined) {
      if (typeof metadata !== 'object' || Array.isArray(metadata)) {
        throw new InvalidFieldError('metadata', 'must be a JSON object');
      }
      // Before JSON.stringify, which recurses: too deep a value would overflow the stack here,
      // or be stored and then fail every read of the mailbox.
      const maxDepth = this.config.limits.maxJsonDepth;
      if (exceedsJsonDepth(metadata, maxDepth)) throw new JsonTooDeepError('metadata', maxDepth);
      const bytes = Buffer.byteLength(JSON.stringify(metadata));
      if (bytes > MAX_METADATA_BYTES) {
        throw new InvalidFieldError(
          'metadata',
          `${bytes} bytes exceeds the limit of ${MAX_METADATA_BYTES} bytes`,
          MAX_METADATA_BYTES,
        );
      }
    }
    const token = issueMailboxToken(name);
    const registered = await this.mailboxes.register(
      name,
      metadata ?? null,
      tokenDigest(token),
      this.clock.now(),
    );
    if (!registered) throw new MailboxExistsError(name);
    return { mailbox: await this.get(name), token };
  }

  async deactivate(nameArg: string): Promise<MailboxRecord> {
    const name = assertMailboxName(nameArg, 'name');
    if (!(await this.mailboxes.deactivate(name, this.clock.now())))
      throw new MailboxNotFoundError(name);
    return this.get(name);
  }

  async find(nameArg: string): Promise<MailboxRecord | null> {
    return this.mailboxes.find(assertMailboxName(nameArg, 'name'));
  }

  /** The mailbox, or NOT_FOUND naming `field`. */
  async get(nameArg: string, field = 'name'): Promise<MailboxRecord> {
    const name = assertMailboxName(nameArg, field);
    const mailbox = await this.mailboxes.find(name);
    if (!mailbox) throw new MailboxNotFoundError(name, field);
    return mailbox;
  }

  async list(): Promise<MailboxRecord[]> {
    return this.mailboxes.findMany(await this.mailboxes.allNames());
  }

  async messages(
    name: string,
    first: number,
    after: string | null | undefined,
  ): Promise<MessagePage> {
    return this.messageReader.page(this.mailboxes.messagesKey(name), first, after);
  }
}
