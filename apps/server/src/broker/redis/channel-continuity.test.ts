import { describe, expect, it } from 'vitest';
import type { MessageEvent, SnapshotEvent } from './bus-events.js';
import {
  continuityAfterSnapshot,
  noteMessage,
  notePresence,
  syncRoster,
} from './channel-continuity.js';

const snapshot: SnapshotEvent = {
  t: 's',
  k: 'token',
  m: [{ peerId: 'alice' }, { peerId: 'bob', metadata: { name: 'Bob' } }],
  sm: { peerId: 'me' },
  o: 5,
  e: 'epoch1',
};

function message(offset: number, epoch = 'epoch1'): MessageEvent {
  return { t: 'm', a: 'app', c: 'room', f: 'alice', d: offset, o: offset, e: epoch };
}

describe('channel continuity', () => {
  it('takes the whole roster from a snapshot, the subscriber’s own entry included', () => {
    const continuity = continuityAfterSnapshot(undefined, snapshot, undefined);
    expect([...continuity.roster.keys()].sort()).toEqual(['alice', 'bob', 'me']);
    expect(continuity.position).toEqual({ offset: 5, epoch: 'epoch1' });
  });

  it('records each offset once: a message at or before the position was delivered already', () => {
    const continuity = continuityAfterSnapshot(undefined, snapshot, undefined);
    expect(noteMessage(continuity, message(5))).toBe(false);
    expect(noteMessage(continuity, message(6))).toBe(true);
    expect(noteMessage(continuity, message(6))).toBe(false);
    // Another epoch starts over.
    expect(noteMessage(continuity, message(1, 'epoch2'))).toBe(true);
    expect(continuity.position).toEqual({ offset: 1, epoch: 'epoch2' });
    const plain: MessageEvent = { t: 'm', a: 'app', c: 'room', f: 'alice', d: 'x' };
    expect(noteMessage(continuity, plain)).toBe(true);
    expect(continuity.unpositioned).toBe(true);
  });

  it('tells the change to the roster read: gone members leave, new ones join, a changed one both', () => {
    const continuity = continuityAfterSnapshot(undefined, snapshot, undefined);
    notePresence(continuity, {
      t: 'p',
      a: 'app',
      c: 'room',
      p: 'carol',
      k: 'j',
      m: { peerId: 'carol' },
    });
    const change = syncRoster(continuity, [
      { peerId: 'bob', metadata: { name: 'Robert' } },
      { peerId: 'carol' },
      { peerId: 'dave' },
      { peerId: 'me' },
    ]);
    expect(change.left).toEqual([
      { peerId: 'alice' },
      { peerId: 'bob', metadata: { name: 'Bob' } },
    ]);
    expect(change.joined).toEqual([
      { peerId: 'bob', metadata: { name: 'Robert' } },
      { peerId: 'dave' },
    ]);
    expect([...continuity.roster.keys()].sort()).toEqual(['bob', 'carol', 'dave', 'me']);
    expect(syncRoster(continuity, [...continuity.roster.values()])).toEqual({
      joined: [],
      left: [],
    });
  });
});
