import { Injectable, Logger } from '@nestjs/common';
import { Clock } from '../common/clock';
import { AppConfigService } from '../config/app-config.service';
import { DeliveryNoticeService } from '../delivery/delivery-notice.service';
import { MessageRepository } from '../messages/message.repository';
import { replyTimeoutNoticeId } from './reply-timeout';
import { RequestDeadlineRepository } from './request-deadline.repository';

/** Requests claimed per script call; a run claims again while it gets full batches. */
const CLAIM_BATCH = 200;

/**
 * Keeps the deadline of every request (a message sent with replyWithinSeconds): when no
 * timely reply from its target has stopped it, the requester gets one `reply.timeout` notice
 * in its own mailbox, whether or not it is online, exactly once however many instances run
 * and whichever of them dies half-way.
 *
 * Once means: each due request is claimed by one instance for ROUTER_RETRY_LEASE (as the
 * retry loop claims deliveries), and the notice's id is derived from the request, so that a
 * second attempt after a lease ran out writes the same message, which the store step keeps
 * once and puts in the mailbox once.
 */
@Injectable()
export class RequestDeadlineService {
  private readonly logger = new Logger(RequestDeadlineService.name);

  constructor(
    private readonly deadlines: RequestDeadlineRepository,
    private readonly messages: MessageRepository,
    private readonly notices: DeliveryNoticeService,
    private readonly config: AppConfigService,
    private readonly clock: Clock,
  ) {}

  /**
   * One run of the sweep: tells the requesters of every request due at `now`, a batch at a
   * time, and returns how many. A backlog (after an outage, say) is taken until none is left
   * or `stopping` says the instance is shutting down: shutdown waits for this run, and what
   * is left falls to the next run, or another instance. `progress` is called after each
   * batch (JobRunner: a long run is not a stuck one).
   */
  async processDue(
    now = this.clock.now(),
    stopping: () => boolean = () => false,
    progress: () => void = () => undefined,
  ): Promise<number> {
    let handled = 0;
    for (;;) {
      if (stopping()) return handled;
      // Leased from when each batch is claimed, not from the run's start: in a run longer than
      // the lease, a later batch would be claimed with a lease already over.
      const leaseUntil = this.clock.now() + this.config.resilience.retryLeaseMs;
      const due = await this.deadlines.claimDue(now, leaseUntil, CLAIM_BATCH);
      if (due.length === 0) return handled;
      await Promise.all(
        due.map((requestId) =>
          this.timeOut(requestId).catch((error: unknown) => {
            // The lease runs out and the request falls due again: nothing is lost.
            this.logger.warn(
              `reply timeout of request ${requestId} not handled: ${(error as Error).message}`,
            );
          }),
        ),
      );
      handled += due.length;
      progress();
      if (due.length < CLAIM_BATCH) return handled;
    }
  }

  private async timeOut(requestId: string): Promise<void> {
    // Its envelope, not its body: a run claims up to CLAIM_BATCH requests at once, and a body
    // may be as large as the payload limit.
    const [request] = await this.messages.envelopes([requestId]);
    // Expired or gone: nobody can answer it any more, and nobody is told.
    const handledAt =
      request === null || request.replyBy === null
        ? null
        : await this.deadlines.stampTimeout(requestId, this.clock.now());
    if (request !== null && handledAt !== null) {
      const told = await this.notices.replyTimedOut(
        request,
        replyTimeoutNoticeId(requestId, handledAt),
      );
      if (told) this.logger.debug(`request ${requestId}: no reply in time, ${request.sender} told`);
    }
    // Only after the notice is stored: a crash before this leaves the claim to lapse and the
    // next attempt to find the notice there.
    await this.deadlines.remove(requestId);
  }
}
