import type { WebSocketLike } from '@metered-ca/realtime';
import WebSocket from 'ws';

type EventType = 'open' | 'close' | 'message' | 'error';
type Listener = (event: unknown) => void;

/**
 * A `ws` socket for the vendor SDK: every event is dispatched in its own `setImmediate` task, as a
 * browser queues one task per message (plain `ws` emits every frame of one read synchronously).
 */
export class TaskPerMessageWebSocket implements WebSocketLike {
  readonly #socket: WebSocket;
  readonly #listeners = new Map<EventType, Set<Listener>>();

  constructor(url: string) {
    this.#socket = new WebSocket(url);
    this.#socket.on('open', () => this.#later('open', { type: 'open' }));
    this.#socket.on('message', (data: Buffer, isBinary: boolean) =>
      this.#later('message', { type: 'message', data: isBinary ? data : data.toString('utf8') }),
    );
    this.#socket.on('error', (error) => this.#later('error', { type: 'error', error }));
    this.#socket.on('close', (code: number, reason: Buffer) =>
      this.#later('close', { type: 'close', code, reason: reason.toString('utf8') }),
    );
  }

  static factory = (url: string): TaskPerMessageWebSocket => new TaskPerMessageWebSocket(url);

  get readyState(): number {
    return this.#socket.readyState;
  }

  send(data: string): void {
    this.#socket.send(data);
  }

  close(code?: number, reason?: string): void {
    this.#socket.close(code, reason);
  }

  addEventListener(type: EventType, listener: Listener): void {
    const set = this.#listeners.get(type) ?? new Set();
    set.add(listener);
    this.#listeners.set(type, set);
  }

  removeEventListener(type: EventType, listener: Listener): void {
    this.#listeners.get(type)?.delete(listener);
  }

  #later(type: EventType, event: unknown): void {
    setImmediate(() => {
      for (const listener of [...(this.#listeners.get(type) ?? [])]) listener(event);
    });
  }
}
