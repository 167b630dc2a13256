export {
  FakeRTCPeerConnection,
  FakeMediaStreamTrack,
  FakeMediaStream,
  FakeRtpSender,
  FakeDataChannel,
  createFakePeerConnectionFactory,
  type FakePeerConnectionFactory,
} from './fake-peer-connection.js';
