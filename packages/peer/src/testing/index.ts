export {
  FakeRTCPeerConnection,
  createFakePeerConnectionFactory,
  type FakePeerConnectionFactory,
} from './fake-peer-connection.js';
export {
  FakeMediaStreamTrack,
  FakeMediaStream,
  FakeRtpSender,
  type FakeEventListener,
} from './fake-media.js';
export { FakeRoom, type FakeRoomFrame } from './fake-room.js';
export { FakeDataChannel, type FakeDataChannelInit } from '@metered/datachannel/testing';
