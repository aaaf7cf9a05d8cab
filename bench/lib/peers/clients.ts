/** Each peer's sender, live client and admin, by peer id. */
import { bullAdmin, bullIngress, bullLive } from './bullmq';
import { jetstreamAdmin, jetstreamIngress, jetstreamLive } from './jetstream';
import type {
  IngressClient,
  LiveClient,
  LiveTopology,
  PeerAdmin,
  PeerEndpoints,
  PeerId,
} from './peers';
import { rabbitAdmin, rabbitIngress, rabbitLive } from './rabbitmq';

/** A peer's module, reached through the endpoints. */
interface PeerModule {
  ingress(
    endpoints: PeerEndpoints,
    lanes: number,
    body: string,
    batches: boolean,
  ): Promise<IngressClient>;
  live(endpoints: PeerEndpoints, topology: LiveTopology): LiveClient;
  admin(endpoints: PeerEndpoints, bullRedisVersion: string): Promise<PeerAdmin>;
}

const MODULES: Readonly<Record<PeerId, PeerModule>> = {
  rabbitmq: {
    ingress: (endpoints, lanes, body, batches) =>
      rabbitIngress(endpoints.amqpUrl, lanes, body, batches),
    live: (endpoints, topology) => rabbitLive(endpoints.amqpUrl, topology),
    admin: (endpoints) => rabbitAdmin(endpoints.amqpUrl),
  },
  jetstream: {
    ingress: (endpoints, _lanes, body) => jetstreamIngress(endpoints.natsUrl, body),
    live: (endpoints, topology) => jetstreamLive(endpoints.natsUrl, topology),
    admin: (endpoints) => jetstreamAdmin(endpoints.natsUrl),
  },
  bullmq: {
    ingress: (endpoints, _lanes, body) => bullIngress(endpoints.bullRedis, body),
    live: (endpoints, topology) => bullLive(endpoints.bullRedis, topology),
    admin: (endpoints, bullRedisVersion) => bullAdmin(endpoints.bullRedis, bullRedisVersion),
  },
};

export function ingressClient(
  peer: PeerId,
  endpoints: PeerEndpoints,
  lanes: number,
  body: string,
  batches: boolean,
): Promise<IngressClient> {
  return MODULES[peer].ingress(endpoints, lanes, body, batches);
}

export function liveClient(
  peer: PeerId,
  endpoints: PeerEndpoints,
  topology: LiveTopology,
): LiveClient {
  return MODULES[peer].live(endpoints, topology);
}

/** Connects to the peer; rejects when it is not reachable (the scenario then skips it). */
export function peerAdmin(
  peer: PeerId,
  endpoints: PeerEndpoints,
  bullRedisVersion: string,
): Promise<PeerAdmin> {
  return MODULES[peer].admin(endpoints, bullRedisVersion);
}
