import { redisDatabase } from '../config/app-config.service';
import { RedisKeys } from './redis-keys';

describe(RedisKeys.name, () => {
  it('names keys and channels with the prefix alone on database 0', () => {
    const keys = new RedisKeys('p:');
    expect(keys.mailboxMessages('a')).toBe('p:mailbox:{a}:messages');
    expect(keys.mailboxFeed('a')).toBe('p:mailbox:{a}:feed');
  });

  it('names channels, not keys, after a database other than 0', () => {
    const keys = new RedisKeys('p:', 3);
    expect(keys.mailboxMessages('a')).toBe('p:mailbox:{a}:messages');
    expect([
      keys.mailboxFeed('a'),
      keys.mailboxWaitCancels('a'),
      keys.topicFeed(),
      keys.mailboxDeletions(),
      keys.mailboxChanges(),
      keys.deliveryEvents('m'),
      keys.senderDeliveries('a'),
      keys.revocations(),
      keys.signingRotations(),
    ]).toEqual([
      'p:db3:mailbox:{a}:feed',
      'p:db3:mailbox:{a}:wait-cancels',
      'p:db3:topics:{feed}',
      'p:db3:mailboxes:deletions',
      'p:db3:mailboxes:changes',
      'p:db3:delivery_confirmation:{m}:events',
      'p:db3:mailbox:{a}:deliveries',
      'p:db3:auth:revocations',
      'p:db3:signing:rotations',
    ]);
  });
});

describe(redisDatabase.name, () => {
  it('reads the database from the URL path, as ioredis does', () => {
    expect(redisDatabase('redis://127.0.0.1:6379')).toBe(0);
    expect(redisDatabase('redis://127.0.0.1:6379/')).toBe(0);
    expect(redisDatabase('redis://127.0.0.1:6379/0')).toBe(0);
    expect(redisDatabase('redis://:secret@127.0.0.1:6379/7')).toBe(7);
    expect(redisDatabase('rediss://cache.example:6380/12')).toBe(12);
    expect(redisDatabase('redis://127.0.0.1:6379?db=4')).toBe(4);
    expect(redisDatabase('redis://127.0.0.1:6379/2?db=4')).toBe(2);
    expect(redisDatabase('not a url')).toBe(0);
  });
});
