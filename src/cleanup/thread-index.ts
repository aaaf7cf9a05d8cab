import type { RedisKeys } from '../redis/redis-keys';
import type { ScriptedClient } from '../redis/redis-scripts';

/**
 * After a message left the index of thread `key` (`thread:{key}:messages`): removes the
 * thread's first entry too when it names no stored message. The first message of a thread
 * named by a message id is added with every message that joins it (threadEntries), even
 * once it expired or was deleted; left behind, it would keep the index, which has no expiry,
 * forever after the thread's last message went. An entry for no stored message is passed
 * over when the thread is read, so removing it changes nothing a reader sees, whatever joins
 * the thread meanwhile.
 */
export async function forgetGoneFirstEntry(
  redis: ScriptedClient,
  keys: RedisKeys,
  key: string,
): Promise<void> {
  const index = keys.thread(key);
  const [first] = await redis.zrange(index, '0', '0');
  if (first === undefined) return;
  if ((await redis.exists(keys.message(first))) === 0) await redis.zrem(index, first);
}
