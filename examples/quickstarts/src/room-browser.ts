import { Data, MeteredPeer, PeerJoined, Track } from '@metered/peer';

const peer = new MeteredPeer({ url: 'ws://127.0.0.1:9292', apiKey: 'pk_live_dev' });

peer.on(PeerJoined, ({ peer: remote }) => {
  remote.on(Track, ({ track, streams, metadata }) => {
    if (track.kind !== 'video') return;
    const video = document.createElement('video');
    video.autoplay = true;
    video.title = `${remote.id} (${typeof metadata?.role === 'string' ? metadata.role : 'video'})`;
    video.srcObject = (streams[0] as MediaStream | undefined) ?? null;
    document.body.append(video);
  });
});
peer.on(Data, ({ senderPeerId, data }) => console.log(`${senderPeerId}: ${JSON.stringify(data)}`));

await peer.join('room-42');
const camera = await navigator.mediaDevices.getUserMedia({ video: true, audio: true });
peer.addStream(camera, { role: 'camera' });
await peer.send({ text: 'hello, room' });
