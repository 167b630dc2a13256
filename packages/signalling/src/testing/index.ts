export {
  FakeWebSocket,
  createFakeWebSocketFactory,
  type FakeFrame,
  type FakeWebSocketFactory,
  type FakeWelcome,
} from './fake-websocket.js';
export type { WebSocketLike, WebSocketFactory } from '../websocket.js';
