/**
 * NATS JetStream as a peer (nats.js): file-storage streams, one replica (one server), limits
 * retention (messages stay after they are acknowledged, as the service keeps a mailbox's
 * messages). `js.publish` resolves with the stream's acknowledgement: the message is in the
 * stream, written to its block file (handed to the OS); the server fsyncs on its own timer
 * (2.9: every 60 s, fixed; from 2.10: `sync_interval`, 2 minutes by default).
 */
import {
  AckPolicy,
  connect,
  DeliverPolicy,
  RetentionPolicy,
  StorageType,
  type ConsumerMessages,
  type JetStreamManager,
  type NatsConnection,
} from 'nats';
import { forEachLimited } from '../live-feed';
import {
  CONNECT_TIMEOUT_MS,
  connectWithin,
  head,
  within,
  type IngressClient,
  type LiveClient,
  type LiveTopology,
  type PeerAdmin,
} from './peers';

/** Messages each live consumer's pull requests ask for at a time (`consume`'s default). */
export const JETSTREAM_MAX_MESSAGES = 100;

function open(url: string, name: string): Promise<NatsConnection> {
  return connectWithin(
    connect({ servers: url, timeout: CONNECT_TIMEOUT_MS, name, maxReconnectAttempts: 0 }),
    url,
  );
}

/** A file-storage stream of one replica taking `subjects`. */
async function addStream(jsm: JetStreamManager, name: string, subjects: string[]): Promise<void> {
  await jsm.streams.add({
    name,
    subjects,
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    num_replicas: 1,
  });
}

async function deleteStream(jsm: JetStreamManager, name: string): Promise<void> {
  try {
    await jsm.streams.delete(name);
  } catch (error) {
    if (!/not found/i.test((error as Error).message)) throw error;
  }
}

/**
 * A JetStream API error (the stream refused the message) as opposed to no answer: the
 * former is a refusal, the latter an unknown outcome.
 */
function refused(error: unknown): boolean {
  return (error as { api_error?: unknown }).api_error !== undefined;
}

/** w1: every lane awaits its `js.publish`; w2: a batch is `count` publishes, then all acks. */
export async function jetstreamIngress(url: string, body: string): Promise<IngressClient> {
  const nc = await open(url, 'bench-w-ingress');
  const js = nc.jetstream();
  const bytes = Buffer.from(body);
  return {
    async send(_lane, store, count) {
      const outcomes = await Promise.allSettled(
        Array.from({ length: count }, () => js.publish(store, bytes)),
      );
      let acknowledged = 0;
      for (const outcome of outcomes) {
        if (outcome.status === 'fulfilled') acknowledged += 1;
        else if (!refused(outcome.reason)) throw outcome.reason;
      }
      return acknowledged;
    },
    async close() {
      await nc.close();
    },
  };
}

/**
 * One stream `base` taking `base.>`; target `t` is the subject `base.t<t>`. Each receiver is
 * a durable consumer of its own (explicit ack, deliver all, filtered on its target's
 * subject; w4's consumers all on the one subject) on its own connection, read with
 * `consumer.consume()`, the pull-based API nats.js recommends (its push subscriptions are
 * deprecated; an ordered consumer neither survives a restart nor takes acks, so it is no
 * mailbox). Each delivery is acknowledged.
 */
export function jetstreamLive(url: string, topology: LiveTopology): LiveClient {
  const { base, targets, receiversPerTarget } = topology;
  const subject = (t: number): string => `${base}.t${t}`;
  const receivers: Array<{ nc: NatsConnection; messages: ConsumerMessages | null }> = [];
  let sender: NatsConnection | null = null;
  let closing = false;
  return {
    async open(deliver, fail) {
      sender = await open(url, 'bench-w-sender');
      const jsm = await sender.jetstreamManager();
      await addStream(jsm, base, [`${base}.>`]);
      const pairs: Array<[number, number]> = [];
      for (let t = 0; t < targets; t++)
        for (let r = 0; r < receiversPerTarget; r++) {
          pairs.push([t, r]);
          await jsm.consumers.add(base, {
            durable_name: `t${t}-r${r}`,
            ack_policy: AckPolicy.Explicit,
            deliver_policy: DeliverPolicy.All,
            filter_subject: subject(t),
          });
        }
      await forEachLimited(pairs, 20, async ([t, r]) => {
        const nc = await open(url, `bench-w-receiver-${t}-${r}`);
        const receiver: { nc: NatsConnection; messages: ConsumerMessages | null } = {
          nc,
          messages: null,
        };
        receivers.push(receiver);
        void nc.closed().then(() => {
          if (!closing) fail(`NATS connection of receiver ${t}/${r} closed`);
        });
        const consumer = await nc.jetstream().consumers.get(base, `t${t}-r${r}`);
        receiver.messages = await consumer.consume({
          max_messages: JETSTREAM_MAX_MESSAGES,
          callback: (message) => {
            deliver(t, r, head(message.data));
            message.ack();
          },
        });
      });
    },
    async send(target, body) {
      if (!sender) throw new Error('not open');
      try {
        await sender.jetstream().publish(subject(target), Buffer.from(body));
        return true;
      } catch (error) {
        if (refused(error)) return false;
        throw error;
      }
    },
    async close() {
      closing = true;
      await Promise.all(
        receivers.map(async ({ nc, messages }) => {
          await messages?.close();
          await nc.close();
        }),
      );
      if (!sender) return;
      try {
        await deleteStream(await sender.jetstreamManager(), base);
      } finally {
        await sender.close();
      }
    },
  };
}

/** The runner's connection: creates and counts the w1/w2 streams, deletes what a run made. */
export async function jetstreamAdmin(url: string): Promise<PeerAdmin> {
  const nc = await open(url, 'bench-w-admin');
  let jsm: JetStreamManager;
  try {
    // Fails unless the server runs JetStream.
    jsm = await within(nc.jetstreamManager(), CONNECT_TIMEOUT_MS, `${url} JetStream`);
  } catch (error) {
    await nc.close();
    throw error;
  }
  return {
    id: 'jetstream',
    version: `JetStream (nats-server ${nc.info?.version ?? 'unknown'})`,
    async prepareStores(names) {
      // The stream's name is its one subject.
      for (const name of names) await addStream(jsm, name, [name]);
    },
    async stored(name) {
      const info = await jsm.streams.info(name);
      return { count: info.state.messages, source: `messages in stream ${name}` };
    },
    async removeStores(names) {
      for (const name of names) await deleteStream(jsm, name);
    },
    async removeLive(topology) {
      await deleteStream(jsm, topology.base);
    },
    async close() {
      await nc.close();
    },
  };
}
