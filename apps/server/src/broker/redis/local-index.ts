import type { BrokerConnection } from '../broker.js';
import type { ChannelContinuity } from './channel-continuity.js';

/** One local subscriber of a channel. */
export interface LocalSubscription {
  connection: BrokerConnection;
  includeSenderMetadata: boolean;
}

interface LocalApp {
  readonly connections: Map<string, BrokerConnection>;
  readonly peers: Map<string, Set<BrokerConnection>>;
  readonly channels: Map<string, Map<string, LocalSubscription>>;
  readonly channelsOfConnection: Map<string, Set<string>>;
  /** What the subscribers of each channel were given (bus-catch-up.ts), while it has any. */
  readonly continuity: Map<string, ChannelContinuity>;
}

/** A channel with local subscribers, as a bus catch-up goes through them. */
export interface LocalChannel {
  readonly appId: string;
  readonly channel: string;
  readonly continuity: ChannelContinuity | undefined;
}

/**
 * This node's sockets as the Redis broker delivers events to them: per app, the attached
 * connections, the sockets of each peer id (directs, kicks) and the subscribers of each channel
 * (fan-out). Redis holds the cluster's state; this is the node's own view of it.
 */
export class LocalIndex {
  private readonly apps = new Map<string, LocalApp>();

  /** Records an attached connection. */
  add(connection: BrokerConnection): void {
    const app = this.app(connection.appId);
    app.connections.set(connection.id, connection);
    let sockets = app.peers.get(connection.peerId);
    if (!sockets) {
      sockets = new Set();
      app.peers.set(connection.peerId, sockets);
    }
    sockets.add(connection);
  }

  /** The attached connection with this id, if it is on this node. */
  get(appId: string, connectionId: string): BrokerConnection | undefined {
    return this.apps.get(appId)?.connections.get(connectionId);
  }

  /** True when this very connection is attached. */
  has(connection: BrokerConnection): boolean {
    return this.apps.get(connection.appId)?.connections.get(connection.id) === connection;
  }

  /** Forgets a connection and its subscriptions; false when it was not attached. */
  remove(connection: BrokerConnection): boolean {
    const app = this.apps.get(connection.appId);
    if (!app || app.connections.get(connection.id) !== connection) return false;
    app.connections.delete(connection.id);
    for (const channel of [...(app.channelsOfConnection.get(connection.id) ?? [])]) {
      this.removeSubscription(app, connection.id, channel);
    }
    app.channelsOfConnection.delete(connection.id);
    const sockets = app.peers.get(connection.peerId);
    if (sockets) {
      sockets.delete(connection);
      if (sockets.size === 0) app.peers.delete(connection.peerId);
    }
    if (app.connections.size === 0 && app.channels.size === 0) this.apps.delete(connection.appId);
    return true;
  }

  /** Puts `next` (same id) where `previous` is attached, in every index. False when it is not. */
  replace(previous: BrokerConnection, next: BrokerConnection): boolean {
    const app = this.apps.get(previous.appId);
    if (!app || app.connections.get(previous.id) !== previous) return false;
    app.connections.set(next.id, next);
    const sockets = app.peers.get(previous.peerId);
    sockets?.delete(previous);
    sockets?.add(next);
    for (const channel of app.channelsOfConnection.get(previous.id) ?? []) {
      const subscription = app.channels.get(channel)?.get(previous.id);
      if (subscription) subscription.connection = next;
    }
    return true;
  }

  /** Records (or updates) a subscription of an attached connection. */
  subscribe(connection: BrokerConnection, channel: string, includeSenderMetadata: boolean): void {
    const app = this.app(connection.appId);
    let subscribers = app.channels.get(channel);
    if (!subscribers) {
      subscribers = new Map();
      app.channels.set(channel, subscribers);
    }
    const existing = subscribers.get(connection.id);
    if (existing) {
      existing.connection = connection;
      existing.includeSenderMetadata = includeSenderMetadata;
    } else subscribers.set(connection.id, { connection, includeSenderMetadata });
    let channels = app.channelsOfConnection.get(connection.id);
    if (!channels) {
      channels = new Set();
      app.channelsOfConnection.set(connection.id, channels);
    }
    channels.add(channel);
  }

  unsubscribe(connection: BrokerConnection, channel: string): void {
    const app = this.apps.get(connection.appId);
    if (app) this.removeSubscription(app, connection.id, channel);
  }

  /** The local subscribers of a channel, by connection id. */
  subscribers(appId: string, channel: string): ReadonlyMap<string, LocalSubscription> | undefined {
    return this.apps.get(appId)?.channels.get(channel);
  }

  /** What the local subscribers of a channel were given; undefined without subscribers. */
  continuity(appId: string, channel: string): ChannelContinuity | undefined {
    return this.apps.get(appId)?.continuity.get(channel);
  }

  /** Records what the local subscribers of a channel (it has some) were given. */
  setContinuity(appId: string, channel: string, continuity: ChannelContinuity): void {
    const app = this.apps.get(appId);
    if (app?.channels.has(channel)) app.continuity.set(channel, continuity);
  }

  /** The apps `appIds` accepts that have local sockets or subscribers. */
  appIdsWhere(appIds: (appId: string) => boolean): string[] {
    return [...this.apps.keys()].filter(appIds);
  }

  /** Every channel with local subscribers of the apps `appIds` accepts. */
  channelsWhere(appIds: (appId: string) => boolean): LocalChannel[] {
    const channels: LocalChannel[] = [];
    for (const [appId, app] of this.apps) {
      if (!appIds(appId)) continue;
      for (const channel of app.channels.keys()) {
        channels.push({ appId, channel, continuity: app.continuity.get(channel) });
      }
    }
    return channels;
  }

  /** The local sockets of a peer id. */
  sockets(appId: string, peerId: string): ReadonlySet<BrokerConnection> | undefined {
    return this.apps.get(appId)?.peers.get(peerId);
  }

  /** Every local socket of an app. */
  connectionsOf(appId: string): BrokerConnection[] {
    const app = this.apps.get(appId);
    return app ? [...app.connections.values()] : [];
  }

  /** Every local socket of the apps `appIds` accepts, forgetting them. */
  takeApps(appIds: (appId: string) => boolean): BrokerConnection[] {
    const connections: BrokerConnection[] = [];
    for (const [appId, app] of this.apps) {
      if (!appIds(appId)) continue;
      connections.push(...app.connections.values());
      this.apps.delete(appId);
    }
    return connections;
  }

  /** Every local socket, forgetting them all. */
  takeAll(): BrokerConnection[] {
    const connections = [...this.apps.values()].flatMap((app) => [...app.connections.values()]);
    this.apps.clear();
    return connections;
  }

  private app(appId: string): LocalApp {
    let app = this.apps.get(appId);
    if (!app) {
      app = {
        connections: new Map(),
        peers: new Map(),
        channels: new Map(),
        channelsOfConnection: new Map(),
        continuity: new Map(),
      };
      this.apps.set(appId, app);
    }
    return app;
  }

  private removeSubscription(app: LocalApp, connectionId: string, channel: string): void {
    const subscribers = app.channels.get(channel);
    if (subscribers?.delete(connectionId) && subscribers.size === 0) {
      app.channels.delete(channel);
      app.continuity.delete(channel);
    }
    app.channelsOfConnection.get(connectionId)?.delete(channel);
  }
}
