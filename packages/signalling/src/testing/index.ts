export {
  FakeWebSocket,
  createFakeWebSocketFactory,
  type FakeFrame,
  type FakeWebSocketFactory,
  type FakeWelcome,
} from './fake-websocket.js';
export {
  BrowserLikeWebSocket,
  createBrowserLikeWebSocketFactory,
  type BrowserLikeWebSocketEventType,
  type BrowserLikeWebSocketFactory,
  type NodeWebSocketConstructor,
  type NodeWebSocketLike,
} from './browser-like-web-socket.js';
export type { WebSocketLike, WebSocketFactory } from '../websocket.js';
