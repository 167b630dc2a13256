// Run in a child process by handles.test.ts: connects a pair, exchanges a message, closes both
// and then simply returns. The process must exit on its own: nothing native may keep it alive.
import { RTCPeerConnection, type NodeRTCDataChannel } from '../src/index.js';

const configuration = { iceServers: [], bindAddress: '127.0.0.1' };

async function main(): Promise<void> {
  const before = process.getActiveResourcesInfo().length;
  for (let round = 0; round < 3; round++) {
    const a = new RTCPeerConnection(configuration);
    const b = new RTCPeerConnection(configuration);
    a.onicecandidate = ({ candidate }) => void b.addIceCandidate(candidate);
    b.onicecandidate = ({ candidate }) => void a.addIceCandidate(candidate);
    const received = new Promise<string>((resolve) => {
      b.ondatachannel = ({ channel }) => {
        channel.onmessage = (event) => resolve(event.data as string);
      };
    });
    const channel: NodeRTCDataChannel = a.createDataChannel('handles');
    await a.setLocalDescription();
    await b.setRemoteDescription(a.localDescription!);
    await b.setLocalDescription();
    await a.setRemoteDescription(b.localDescription!);
    await new Promise<void>((resolve) => {
      channel.onopen = () => resolve();
    });
    channel.send('ping');
    if ((await received) !== 'ping') throw new Error('wrong message');
    a.close();
    b.close();
  }
  await new Promise<void>((resolve) => setImmediate(resolve));
  const after = process.getActiveResourcesInfo().length;
  process.stdout.write(`${JSON.stringify({ before, after })}\n`);
}

await main();
