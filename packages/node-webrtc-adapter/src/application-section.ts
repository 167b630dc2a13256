import type { PeerConnection as NativePeerConnection } from 'node-datachannel';
import { hasActiveApplication } from './sdp.js';

/**
 * The application (data channel) m-line, and why every first offer of this adapter has one.
 *
 * node-datachannel (libdatachannel 0.24) cannot add an application m-line to a connection whose
 * DTLS transport is up. The answerer applies such an offer before it has an answer with its own
 * application m-line, tries to start SCTP at once, fails ("SCTP transport initialization
 * failed") and marks the connection failed. And the side that starts SCTP second, from a
 * description call, hangs for good if the other side's SCTP INIT arrived first: the transport
 * below replays it while SCTP starts, before SCTP sent its own INIT, which that replay waits
 * for. Both sides start SCTP within one signalling round trip, so one of them is second.
 *
 * So a first offer always has an application m-line, with or without data channels (SCTP then
 * starts when DTLS connects, as for any first negotiation), and a data channel created later
 * needs no renegotiation. What remains is a connection first negotiated by another stack
 * without one (a browser's media-only offer): adding a data channel to it is refused with
 * {@link applicationRefused}, on both sides, and the media keep flowing.
 */
export function offerWithApplication<T>(native: NativePeerConnection, offer: () => T): T {
  // A data channel that is never opened makes node-datachannel describe the m-line.
  const placeholder = native.createDataChannel('');
  try {
    return offer();
  } finally {
    placeholder.close();
  }
}

/** The negotiated descriptions (`currentLocalDescription`) have no application m-line. */
export function negotiatedWithoutApplication(currentLocalSdp: string | undefined): boolean {
  return currentLocalSdp !== undefined && !hasActiveApplication(currentLocalSdp);
}

/** `OperationError`: a data channel for a connection negotiated without one (see above). */
export function applicationRefused(): DOMException {
  return new DOMException(
    'node-datachannel cannot add data channels to a connection first negotiated without ' +
      'them: create a data channel before the first offer, or a new connection',
    'OperationError',
  );
}
