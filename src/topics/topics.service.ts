import { Injectable } from '@nestjs/common';
import { InvalidFieldError } from '../messages/message.errors';
import { MAX_PAGE_SIZE } from '../messages/page-args';
import { compileTopicPattern, literalPrefix } from './topic-pattern';
import { TopicRepository, type TopicRecord } from './topic.repository';

/** Names read from the index per round trip while a listing looks for matches. */
const SCAN_CHUNK = 500;
/** Names a listing with a pattern looks at per call, matching or not, so that a call is bounded. */
export const SCAN_BUDGET = 10_000;

export interface TopicPage {
  topics: TopicRecord[];
  endCursor: string | null;
  hasNextPage: boolean;
}

/** Lists the known topics: every topic that has had a message, in name order. */
@Injectable()
export class TopicsService {
  constructor(private readonly topics: TopicRepository) {}

  /**
   * A page of topics after `after` (a topic name), matching `pattern` when one is given
   * (callers validate both). The listing starts at the pattern's literal prefix and stops
   * once it holds `first` matches and knows whether another follows, or has looked at
   * SCAN_BUDGET names, or has reached the end.
   */
  async list(pattern: string | null, first: number, after: string | null): Promise<TopicPage> {
    if (!Number.isInteger(first) || first < 1 || first > MAX_PAGE_SIZE) {
      throw new InvalidFieldError('first', `must be from 1 to ${MAX_PAGE_SIZE}`, MAX_PAGE_SIZE);
    }
    const matches = pattern === null ? () => true : compileTopicPattern(pattern);
    const prefix = pattern === null ? '' : literalPrefix(pattern);
    const names: string[] = [];
    let cursor = after;
    let looked = 0;
    let hasNextPage = false;
    let endCursor = after;
    scan: for (;;) {
      const chunk = await this.topics.names({ after: cursor, prefix }, SCAN_CHUNK);
      for (const name of chunk) {
        looked += 1;
        cursor = name;
        if (!matches(name)) continue;
        if (names.length === first) {
          hasNextPage = true;
          break scan;
        }
        names.push(name);
        endCursor = name;
      }
      if (chunk.length < SCAN_CHUNK) break;
      if (looked >= SCAN_BUDGET) {
        // Unknown whether more match: the next call goes on from the last name looked at.
        hasNextPage = true;
        endCursor = cursor;
        break;
      }
    }
    return { topics: await this.topics.records(names), endCursor, hasNextPage };
  }
}
