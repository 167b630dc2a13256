// The frames of the client-inbound benchmarks: the welcome, and the `message` frame pushed N times.
export const CHANNEL = 'room-1';
export const FRAME = JSON.stringify({
  type: 'message',
  channel: CHANNEL,
  from: 'peer-2',
  data: { seq: 1, text: 'hello, room', at: 1_767_225_600_000 },
});
export const WELCOME = JSON.stringify({
  type: 'welcome',
  peerId: 'peer-1',
  expiresAt: null,
  serverTime: 1_767_225_600_000,
  maxMessageSize: 65_536,
});
