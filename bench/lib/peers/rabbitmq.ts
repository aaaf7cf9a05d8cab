/**
 * RabbitMQ as a peer (amqplib): classic durable queues (the default queue type), persistent
 * messages (delivery mode 2), publisher confirms. A confirm for a persistent message routed
 * to a durable classic queue comes once the message is written and fsynced on this node (the
 * queue's store syncs in batches), or once every queue it went to has delivered it and had
 * it acknowledged, whichever comes first.
 */
import { connect, type Channel, type ChannelModel, type ConfirmChannel } from 'amqplib';
import { forEachLimited } from '../live-feed';
import {
  CONNECT_TIMEOUT_MS,
  connectWithin,
  head,
  type IngressClient,
  type LiveClient,
  type LiveTopology,
  type PeerAdmin,
} from './peers';

/** Unacknowledged deliveries a live consumer may hold (basic.qos). */
export const RABBITMQ_PREFETCH = 100;

const PERSISTENT = { persistent: true } as const;

function open(url: string): Promise<ChannelModel> {
  return connectWithin(connect(url, { timeout: CONNECT_TIMEOUT_MS }), url);
}

/** Without a listener an 'error' event would end the process; closes are seen by the calls. */
function quiet<T extends ChannelModel | Channel>(emitter: T): T {
  emitter.on('error', () => undefined);
  return emitter;
}

/** The queue of receiver `r` of target `t`; the fan-out exchange of target `t`. */
export const rabbitQueue = (base: string, t: number, r: number): string => `${base}-t${t}-r${r}`;
export const rabbitExchange = (base: string, t: number): string => `${base}-t${t}`;

/**
 * A confirm callback's outcome: acknowledged (true), refused (a nack: false), or unknown (the
 * channel closed first: the error).
 */
function confirmation(error: unknown): boolean | Error {
  if (!error) return true;
  const failure = error instanceof Error ? error : new Error(JSON.stringify(error));
  return /nack/i.test(failure.message) ? false : failure;
}

/** A publish callback settling `resolve` / `reject` with the confirmation. */
function settle(
  resolve: (acknowledged: boolean) => void,
  reject: (error: Error) => void,
): (error: unknown) => void {
  return (error) => {
    const outcome = confirmation(error);
    if (outcome instanceof Error) reject(outcome);
    else resolve(outcome);
  };
}

/**
 * w1: one confirm channel that every lane publishes on (so up to `lanes` unconfirmed); w2:
 * a confirm channel per lane, each batch published and then `waitForConfirms`.
 */
export async function rabbitIngress(
  url: string,
  lanes: number,
  body: string,
  batches: boolean,
): Promise<IngressClient> {
  const connection = quiet(await open(url));
  const channels: ConfirmChannel[] = [];
  for (let i = 0; i < (batches ? lanes : 1); i++)
    channels.push(quiet(await connection.createConfirmChannel()));
  const bytes = Buffer.from(body);
  const publish = (channel: ConfirmChannel, store: string): Promise<boolean> =>
    new Promise((resolve, reject) => {
      channel.sendToQueue(store, bytes, PERSISTENT, settle(resolve, reject));
    });
  return {
    async send(lane, store, count) {
      const channel = channels[batches ? lane : 0];
      if (count === 1) return (await publish(channel, store)) ? 1 : 0;
      const outcomes = Array.from({ length: count }, () => publish(channel, store));
      // Rejects when a message was refused, or the channel closed: the outcomes say which.
      await channel.waitForConfirms().catch(() => undefined);
      return (await Promise.all(outcomes)).filter(Boolean).length;
    },
    async close() {
      await connection.close().catch(() => undefined);
    },
  };
}

/**
 * w3 (one receiver per target): a durable queue per receiver, published to through the
 * default exchange. w4 (several per target): a durable fanout exchange per target with a
 * durable queue per receiver bound to it. Every receiver has its own connection and channel,
 * `RABBITMQ_PREFETCH` deliveries in flight, and acknowledges each delivery (manual ack). The
 * sender publishes persistent messages on one confirm channel.
 */
export function rabbitLive(url: string, topology: LiveTopology): LiveClient {
  const { base, targets, receiversPerTarget } = topology;
  const fanout = receiversPerTarget > 1;
  const connections: ChannelModel[] = [];
  let sender: ConfirmChannel | null = null;
  let closing = false;
  return {
    async open(deliver, fail) {
      const senderConnection = quiet(await open(url));
      connections.push(senderConnection);
      sender = quiet(await senderConnection.createConfirmChannel());
      if (fanout)
        for (let t = 0; t < targets; t++)
          await sender.assertExchange(rabbitExchange(base, t), 'fanout', { durable: true });
      const receivers: Array<[number, number]> = [];
      for (let t = 0; t < targets; t++)
        for (let r = 0; r < receiversPerTarget; r++) receivers.push([t, r]);
      await forEachLimited(receivers, 20, async ([t, r]) => {
        const connection = quiet(await open(url));
        connections.push(connection);
        connection.on('close', () => {
          if (!closing) fail(`RabbitMQ connection of receiver ${t}/${r} closed`);
        });
        const channel = quiet(await connection.createChannel());
        await channel.prefetch(RABBITMQ_PREFETCH);
        const queue = rabbitQueue(base, t, r);
        await channel.assertQueue(queue, { durable: true });
        if (fanout) await channel.bindQueue(queue, rabbitExchange(base, t), '');
        await channel.consume(
          queue,
          (message) => {
            if (message === null) {
              fail(`RabbitMQ cancelled the consumer of ${queue}`);
              return;
            }
            deliver(t, r, head(message.content));
            channel.ack(message);
          },
          { noAck: false },
        );
      });
    },
    send(target, body) {
      const channel = sender;
      if (!channel) return Promise.reject(new Error('not open'));
      return new Promise((resolve, reject) => {
        const callback = settle(resolve, reject);
        if (fanout)
          channel.publish(
            rabbitExchange(base, target),
            '',
            Buffer.from(body),
            PERSISTENT,
            callback,
          );
        else
          channel.sendToQueue(
            rabbitQueue(base, target, 0),
            Buffer.from(body),
            PERSISTENT,
            callback,
          );
      });
    },
    async close() {
      closing = true;
      const receivers = connections.slice(1);
      await Promise.all(receivers.map((connection) => connection.close().catch(() => undefined)));
      const senderConnection = connections[0];
      if (!senderConnection) return;
      try {
        const channel = quiet(await senderConnection.createChannel());
        await removeLiveResources(channel, topology);
      } finally {
        await senderConnection.close().catch(() => undefined);
      }
    },
  };
}

async function removeLiveResources(channel: Channel, topology: LiveTopology): Promise<void> {
  for (let t = 0; t < topology.targets; t++) {
    for (let r = 0; r < topology.receiversPerTarget; r++)
      await channel.deleteQueue(rabbitQueue(topology.base, t, r));
    if (topology.receiversPerTarget > 1)
      await channel.deleteExchange(rabbitExchange(topology.base, t));
  }
}

/** The runner's connection: declares and counts the w1/w2 queues, deletes what a run made. */
export async function rabbitAdmin(url: string): Promise<PeerAdmin> {
  const connection = quiet(await open(url));
  let channel: Channel | null = null;
  // A failed call (a queue that is not there) closes the channel: open another next time.
  const use = async (): Promise<Channel> => {
    if (channel) return channel;
    const opened = quiet(await connection.createChannel());
    opened.once('close', () => {
      if (channel === opened) channel = null;
    });
    channel = opened;
    return opened;
  };
  const version = String(connection.connection.serverProperties.version ?? 'unknown');
  return {
    id: 'rabbitmq',
    version: `RabbitMQ ${version}`,
    async prepareStores(names) {
      const ch = await use();
      for (const name of names) await ch.assertQueue(name, { durable: true });
    },
    async stored(name) {
      const { messageCount } = await (await use()).checkQueue(name);
      return { count: messageCount, source: `message count of queue ${name}` };
    },
    async removeStores(names) {
      const ch = await use();
      for (const name of names) await ch.deleteQueue(name);
    },
    async removeLive(topology) {
      await removeLiveResources(await use(), topology);
    },
    async close() {
      await connection.close().catch(() => undefined);
    },
  };
}
