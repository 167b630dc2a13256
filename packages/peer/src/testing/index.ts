export {
  FakeRTCPeerConnection,
  FakeMediaStreamTrack,
  FakeMediaStream,
  FakeRtpSender,
  FakeDataChannel,
  createFakePeerConnectionFactory,
  type FakePeerConnectionFactory,
  type FakeEventListener,
} from './fake-peer-connection.js';
