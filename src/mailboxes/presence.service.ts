import { Injectable, Logger } from '@nestjs/common';
import { Clock } from '../common/clock';
import { MailboxRepository } from './mailbox.repository';

/** At most one lastSeenAt write per mailbox per instance in this many milliseconds. */
const TOUCH_INTERVAL_MS = 1_000;
const MAX_REMEMBERED = 10_000;

/**
 * Presence: when a mailbox's owner was last seen (sending, reading or subscribing) and
 * whether a live subscription to it is open anywhere. Each sighting also moves the mailbox in
 * the seen index, which BROADCAST_ACTIVE_WITHIN reads to pass over stale mailboxes.
 */
@Injectable()
export class PresenceService {
  private readonly logger = new Logger(PresenceService.name);
  private readonly lastTouched = new Map<string, number>();

  constructor(
    private readonly mailboxes: MailboxRepository,
    private readonly clock: Clock,
  ) {}

  /**
   * Moves the mailbox's lastSeenAt (and its place in the seen index) to now, at most once a
   * second per instance so that a busy sender does not add a write to every send. Best
   * effort: a failure is logged, never thrown, since no send or read should fail for the sake
   * of presence.
   */
  seen(name: string): void {
    const now = this.clock.now();
    const last = this.lastTouched.get(name);
    if (last !== undefined && now - last < TOUCH_INTERVAL_MS) return;
    if (this.lastTouched.size >= MAX_REMEMBERED) this.lastTouched.clear();
    this.lastTouched.set(name, now);
    this.mailboxes.recordSighting(name, now).catch((error: unknown) => {
      this.logger.debug(`lastSeenAt of ${name} not recorded: ${(error as Error).message}`);
    });
  }

  async online(name: string): Promise<boolean> {
    const [online] = await this.mailboxes.online([name]);
    return online;
  }
}
