import type { JsonObject } from '@metered/protocol';
import type { OutboundFrame } from '../outbound.js';
import type { BrokerConnection } from './broker.js';

/**
 * A session held after its socket dropped (extension `resume`): it stands in for the socket in
 * the broker, so that the peer id keeps its memberships. Channel traffic to it is dropped (a
 * resuming client catches up through recovery); directs are kept, up to a bound, and once the
 * bound is reached it takes none any more. A close asked of it (a kick, a suspension) ends the
 * hold at once.
 */
export class HeldSession implements BrokerConnection {
  readonly id: string;
  readonly appId: string;
  readonly peerId: string;
  readonly peerMetadata: JsonObject | undefined;
  readonly visibleInPresence: boolean;
  private readonly directs: OutboundFrame[] = [];
  private full = false;

  constructor(
    connection: BrokerConnection,
    private readonly maxDirects: number,
    private readonly onClose: (held: HeldSession) => void,
  ) {
    this.id = connection.id;
    this.appId = connection.appId;
    this.peerId = connection.peerId;
    this.peerMetadata = connection.peerMetadata;
    this.visibleInPresence = connection.visibleInPresence;
  }

  /** Channel messages and presence changes: nobody reads them while held. */
  deliver(): void {}

  /** Keeps a direct for the resuming connection; false once the buffer has been full. */
  keep(frame: OutboundFrame): boolean {
    if (this.full || this.directs.length >= this.maxDirects) {
      this.full = true;
      return false;
    }
    this.directs.push(frame);
    return true;
  }

  /** The directs kept, oldest first, handed over once. */
  takeDirects(): OutboundFrame[] {
    return this.directs.splice(0);
  }

  close(): void {
    this.onClose(this);
  }
}
