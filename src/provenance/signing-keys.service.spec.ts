import type { AppConfigService } from '../config/app-config.service';
import { AddressingMode, MessagePriority } from '../messages/message.model';
import type { StoredMessage } from '../messages/stored-message';
import type { RedisCircuitBreaker } from '../redis/redis-circuit-breaker';
import type { ChannelListener, RedisPubSubService } from '../redis/redis-pubsub.service';
import { configuredKey, signMessage, type SigningKey } from './message-signature';
import { SigningKeyConfiguredError } from './provenance.errors';
import type { SigningKeyRepository } from './signing-key.repository';
import { SigningKeysService } from './signing-keys.service';
import { strict } from '../../test/utils/strict';

const KEY = 'k'.repeat(32);
const OLD_KEY = 'o'.repeat(40);

const message: StoredMessage = {
  id: '01JGZ5K3Y6Q2V8W9X0A1B2C3D4',
  sender: 'alice',
  mode: AddressingMode.DIRECT,
  target: 'bob',
  content: 'hello',
  contentType: 'text/plain',
  subject: null,
  metadata: null,
  priority: MessagePriority.NORMAL,
  createdAt: 1893553445678,
  expiresAt: null,
  requireConfirmation: false,
  correlationId: null,
  replyTo: null,
  threadId: '01JGZ5K3Y6Q2V8W9X0A1B2C3D4',
  inReplyTo: null,
  replyBy: null,
  hop: 0,
};

/** What the instances share in Redis: the current kid, the secrets and the rotation channel. */
class SharedKeys {
  current: string | null = null;
  readonly secrets = new Map<string, Buffer>();
  readonly listeners: ChannelListener[] = [];

  repository(): SigningKeyRepository {
    return strict<SigningKeyRepository>({
      currentKid: () => Promise.resolve(this.current),
      find: (kid) => {
        const secret = this.secrets.get(kid);
        return Promise.resolve(secret === undefined ? null : { kid, secret });
      },
      add: (key) => {
        if (this.secrets.has(key.kid)) return Promise.resolve(false);
        this.secrets.set(key.kid, key.secret);
        return Promise.resolve(true);
      },
      remove: (kid) => {
        this.secrets.delete(kid);
        return Promise.resolve();
      },
      claimCurrent: (kid) => {
        this.current ??= kid;
        return Promise.resolve(this.current);
      },
      makeCurrent: (kid) => {
        this.current = kid;
        return Promise.resolve();
      },
      announce: (kid) => {
        for (const listener of this.listeners) listener({ kid });
        return Promise.resolve();
      },
      rotationChannel: () => 'signing:rotations',
    });
  }

  pubsub(): RedisPubSubService {
    return strict<RedisPubSubService>({
      subscribe: (_channel: string, listener: ChannelListener) => {
        this.listeners.push(listener);
        return Promise.resolve(() => Promise.resolve());
      },
      onReconnect: () => () => true,
    });
  }
}

function config(key: string | null, oldKeys: string[] = []): AppConfigService {
  return strict<AppConfigService>({ signing: { key, oldKeys } });
}

/** An instance as the application starts it, its Redis not answering yet. */
function instance(
  shared: SharedKeys,
  signing = config(null),
  repository = shared.repository(),
): SigningKeysService {
  const breaker = strict<RedisCircuitBreaker>({ closed: false, onStateChange: () => () => true });
  const service = new SigningKeysService(signing, repository, shared.pubsub(), breaker);
  service.onModuleInit();
  service.onApplicationBootstrap();
  return service;
}

const settled = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function signed(key: SigningKey, fields: Partial<StoredMessage> = {}): StoredMessage {
  const stored = { ...message, ...fields };
  return { ...stored, signature: signMessage(stored, key) };
}

describe(SigningKeysService.name, () => {
  describe('with MESSAGE_SIGNING_KEY', () => {
    // Any use of Redis would throw: a configured key needs none to sign.
    const service = instance(new SharedKeys(), config(KEY, [OLD_KEY]), strict({}));

    it('signs at once with the configured key, under its derived kid', () => {
      expect(service.configured).toBe(true);
      expect(service.currentKid).toBe(configuredKey(KEY).kid);
      expect(service.trySign(message)).toBe(signMessage(message, configuredKey(KEY)));
    });

    it('verifies what the configured key and the old keys signed, without Redis', async () => {
      await expect(service.verify(signed(configuredKey(KEY)))).resolves.toBe(true);
      await expect(service.verify(signed(configuredKey(OLD_KEY)))).resolves.toBe(true);
    });

    it('refuses to rotate', async () => {
      await expect(service.rotate()).rejects.toBeInstanceOf(SigningKeyConfiguredError);
    });

    it('trusts no key that Redis holds, but a generated key listed in MESSAGE_SIGNING_OLD_KEYS', async () => {
      const shared = new SharedKeys();
      const generated = instance(shared);
      const before = { ...message, signature: await generated.sign(message) };
      const kid = generated.currentKid!;
      // Whoever can write to Redis adds a key of their own, and signs what they changed.
      const planted = configuredKey('p'.repeat(32));
      shared.secrets.set(planted.kid, planted.secret);
      const forged = signed(planted, { sender: 'ceo' });

      const configured = instance(shared, config(KEY));
      await expect(configured.verify(forged)).resolves.toBe(false);
      await expect(configured.verify(before)).resolves.toBe(false);

      const text = `${kid}:base64url:${shared.secrets.get(kid)!.toString('base64url')}`;
      const listing = instance(shared, config(KEY, [text]));
      await expect(listing.verify(before)).resolves.toBe(true);
      await expect(listing.verify(forged)).resolves.toBe(false);
    });
  });

  describe('with a generated key', () => {
    it('lets instances that start at once agree on one key, and keeps only that one', async () => {
      const shared = new SharedKeys();
      const [a, b] = [instance(shared), instance(shared)];

      expect(a.trySign(message)).toBeNull();
      const [viaA, viaB] = await Promise.all([a.sign(message), b.sign(message)]);

      expect(viaA).toBe(viaB);
      expect([...shared.secrets.keys()]).toEqual([shared.current]);
      expect(a.trySign(message)).toBe(viaA);
    });

    it('signs with a rotated key on every instance once the rotation is announced', async () => {
      const shared = new SharedKeys();
      const [a, b] = [instance(shared), instance(shared)];
      const before = { ...message, signature: await a.sign(message) };
      await b.sign(message);

      const kid = await a.rotate();
      await settled();

      expect(shared.current).toBe(kid);
      expect(a.currentKid).toBe(kid);
      expect(b.currentKid).toBe(kid);
      expect(shared.secrets.size).toBe(2);
      await expect(b.verify(before)).resolves.toBe(true);
      await expect(b.verify({ ...message, signature: await b.sign(message) })).resolves.toBe(true);
    });

    it('verifies on a new instance what a rotated-out key signed, reading it from Redis', async () => {
      const shared = new SharedKeys();
      const first = instance(shared);
      const before = { ...message, signature: await first.sign(message) };
      await first.rotate();

      const later = instance(shared);

      await expect(later.verify(before)).resolves.toBe(true);
      await expect(later.verify({ ...before, content: 'changed' })).resolves.toBe(false);
      await expect(later.verify({ ...before, signature: undefined })).resolves.toBe(false);
      await expect(
        later.verify({ ...before, signature: before.signature.replace(/\.\w+\./, '.ffffffff.') }),
      ).resolves.toBe(false);
    });

    it('replaces a current key whose secret Redis lost', async () => {
      const shared = new SharedKeys();
      shared.current = 'deadbeef';

      const signature = await instance(shared).sign(message);

      expect(shared.current).not.toBe('deadbeef');
      expect(signature.startsWith(`v1.${shared.current}.`)).toBe(true);
      expect([...shared.secrets.keys()]).toEqual([shared.current]);
    });

    it('takes over when the key another instance claimed is gone before it is read', async () => {
      const shared = new SharedKeys();
      const repository = shared.repository();
      // Another instance claims 'deadbeef' between this one's read (none current) and its
      // claim, and that key's secret is gone before this one reads it.
      const claimCurrent = repository.claimCurrent.bind(repository);
      repository.claimCurrent = (kid) => {
        shared.current ??= 'deadbeef';
        return claimCurrent(kid);
      };

      const service = instance(shared, config(null), repository);
      const signature = await service.sign(message);

      expect(shared.current).not.toBe('deadbeef');
      expect(shared.current).toBe(service.currentKid);
      expect(signature.startsWith(`v1.${shared.current}.`)).toBe(true);
      expect([...shared.secrets.keys()]).toEqual([shared.current]);
      await expect(instance(shared).verify({ ...message, signature })).resolves.toBe(true);
    });

    it('puts the key it signs with back when Redis lost every key', async () => {
      const shared = new SharedKeys();
      const service = instance(shared);
      const signature = await service.sign(message);
      const kid = service.currentKid;
      shared.current = null;
      shared.secrets.clear();

      // A reconnect or an announcement reads the current key again.
      shared.listeners.forEach((listener) => listener({ kid: null }));
      await settled();

      expect(shared.current).toBe(kid);
      await expect(instance(shared).verify({ ...message, signature })).resolves.toBe(true);
    });
  });
});
