// Preloaded (`node --import`) before a quickstart runs in the tests.
//
// The quickstarts name the server a reader runs (`ws://127.0.0.1:9292`); the tests run theirs on
// a free port. Instead of editing the program, the global `WebSocket` is `ws` with that one
// origin pointed at QUICKSTART_SERVER_URL. With QUICKSTART_BROWSER=1 it also provides what the
// browser quickstart uses from the page: `RTCPeerConnection` (the Node adapter),
// `navigator.mediaDevices.getUserMedia` (tracks fed by nothing) and a `document` whose
// `body.append` prints what the page would show.
import { WebSocket as NodeWebSocket } from 'ws';

const README_ORIGIN = 'ws://127.0.0.1:9292';
const target = process.env.QUICKSTART_SERVER_URL;
if (!target) throw new Error('QUICKSTART_SERVER_URL is not set');

class PointedWebSocket extends NodeWebSocket {
  constructor(url, ...rest) {
    const text = String(url);
    super(
      text.startsWith(README_ORIGIN) ? target + text.slice(README_ORIGIN.length) : text,
      ...rest,
    );
  }
}
Object.defineProperty(globalThis, 'WebSocket', {
  value: PointedWebSocket,
  configurable: true,
  writable: true,
});

if (process.env.QUICKSTART_BROWSER === '1') {
  const { RTCPeerConnection, NodeMediaStream, NodeMediaStreamTrack } =
    await import('@metered/node-webrtc-adapter');
  globalThis.RTCPeerConnection = RTCPeerConnection;
  Object.defineProperty(globalThis, 'navigator', {
    configurable: true,
    value: {
      mediaDevices: {
        getUserMedia: async ({ video, audio }) => {
          const tracks = [];
          if (video) tracks.push(new NodeMediaStreamTrack({ kind: 'video' }));
          if (audio) tracks.push(new NodeMediaStreamTrack({ kind: 'audio' }));
          return new NodeMediaStream(tracks);
        },
      },
    },
  });
  globalThis.document = {
    createElement: (tagName) => ({ tagName }),
    body: {
      append: (element) =>
        console.log(
          `[page] <${element.tagName} title="${element.title}"> stream ${element.srcObject?.id ?? 'none'}`,
        ),
    },
  };
}
