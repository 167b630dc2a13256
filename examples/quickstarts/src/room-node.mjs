import { DataChannel, DCMessage } from '@metered/datachannel';
import { rtcPeerConnectionFactory } from '@metered/node-webrtc-adapter';
import { DataChannelOpened, MeteredPeer, PeerJoined } from '@metered/peer';

const peer = new MeteredPeer({
  url: 'ws://127.0.0.1:9292',
  apiKey: 'pk_live_dev',
  // WebRTC on Node, over node-datachannel:
  rtcPeerConnectionFactory,
});

peer.on(PeerJoined, ({ peer: remote }) => {
  // A member opened a data channel to us: answer on it.
  remote.on(DataChannelOpened, ({ channel }) => {
    const wrapped = new DataChannel(channel);
    wrapped.on(DCMessage, ({ data }) => {
      const text = typeof data === 'string' ? data : `${data.byteLength} bytes`;
      console.log(`${remote.id}: ${text}`);
      void wrapped.send(`echo: ${text}`);
    });
  });
});

await peer.join('room-42');
console.log(`joined room-42 as ${peer.peerId}`);
