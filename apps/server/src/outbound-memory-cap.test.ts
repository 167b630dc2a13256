import { describe, expect, it } from 'vitest';
import { OutboundMemoryCap, type OutboundHolder } from './outbound-memory-cap.js';

class FakeSocket implements OutboundHolder {
  shed = false;
  terminated = false;
  constructor(
    public bytes: number,
    public isClosing = false,
  ) {}
  unsentBytes(): number {
    return this.shed || this.terminated ? 0 : this.bytes;
  }
  shedAsSlowConsumer(): void {
    this.shed = true;
  }
  terminate(): void {
    this.terminated = true;
  }
}

describe('OutboundMemoryCap', () => {
  it('sheds the largest holders first, only until the total is within the cap', () => {
    const cap = new OutboundMemoryCap(() => 100);
    const sockets = [
      new FakeSocket(30),
      new FakeSocket(60),
      new FakeSocket(20),
      new FakeSocket(45),
    ];
    for (const socket of sockets) cap.record(socket, socket.bytes);
    cap.enforce();
    // 155 held: dropping 60 leaves 95.
    expect(sockets.map((socket) => socket.shed)).toEqual([false, true, false, false]);
    expect(cap.recordedBytes).toBe(155);
    cap.forget(sockets[1] as FakeSocket);
    expect(cap.recordedBytes).toBe(95);
  });

  it('drops sockets already closing before it sheds an open one', () => {
    const cap = new OutboundMemoryCap(() => 100);
    const open = new FakeSocket(90);
    const closing = new FakeSocket(40, true);
    cap.record(open, open.bytes);
    cap.record(closing, closing.bytes);
    cap.enforce();
    expect(closing.terminated).toBe(true);
    expect(open.shed).toBe(false);
  });

  it('counts again before acting: sockets that drained since their last write are not shed', () => {
    const cap = new OutboundMemoryCap(() => 100);
    const drained = new FakeSocket(200);
    cap.record(drained, drained.bytes);
    drained.bytes = 0;
    cap.enforce();
    expect(drained.shed).toBe(false);
    expect(cap.recordedBytes).toBe(0);
  });

  it('checks on its own once a write takes the running sum over the cap', async () => {
    const cap = new OutboundMemoryCap(() => 100);
    const socket = new FakeSocket(150);
    cap.record(socket, socket.bytes);
    await new Promise<void>((resolve) => setImmediate(resolve));
    expect(socket.shed).toBe(true);
    cap.dispose();
  });
});
