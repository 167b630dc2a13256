import type { RTCPeerConnectionLike } from '@metered-ca/realtime';

/**
 * Just enough of an RTCPeerConnection for the vendor `MeteredPeer` to track remote peers:
 * presence needs a peer connection object per remote, never a negotiation (no tracks, no data
 * channels), so nothing here ever fires an event.
 */
export class FakePeerConnection implements RTCPeerConnectionLike {
  static readonly created: FakePeerConnection[] = [];
  connectionState: RTCPeerConnectionState = 'new';
  signalingState: RTCSignalingState = 'stable';
  iceConnectionState: RTCIceConnectionState = 'new';
  localDescription: RTCSessionDescription | null = null;
  remoteDescription: RTCSessionDescription | null = null;
  closed = false;

  constructor(readonly configuration: RTCConfiguration) {
    FakePeerConnection.created.push(this);
  }

  createOffer(): Promise<RTCSessionDescriptionInit> {
    return Promise.resolve({ type: 'offer', sdp: 'v=0\r\n' });
  }
  createAnswer(): Promise<RTCSessionDescriptionInit> {
    return Promise.resolve({ type: 'answer', sdp: 'v=0\r\n' });
  }
  setLocalDescription(): Promise<void> {
    return Promise.resolve();
  }
  setRemoteDescription(): Promise<void> {
    return Promise.resolve();
  }
  addIceCandidate(): Promise<void> {
    return Promise.resolve();
  }
  addTrack(): RTCRtpSender {
    throw new Error('FakePeerConnection carries no media');
  }
  removeTrack(): void {}
  getSenders(): RTCRtpSender[] {
    return [];
  }
  createDataChannel(): RTCDataChannel {
    throw new Error('FakePeerConnection carries no data channels');
  }
  setConfiguration(): void {}
  addEventListener(): void {}
  removeEventListener(): void {}
  close(): void {
    this.closed = true;
    this.connectionState = 'closed';
    this.signalingState = 'closed';
  }

  static readonly factory = (configuration: RTCConfiguration): RTCPeerConnectionLike =>
    new FakePeerConnection(configuration);
}
