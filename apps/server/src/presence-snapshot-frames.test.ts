import {
  MAX_SERVER_FRAME_LENGTH,
  encodePresence,
  utf8ByteLength,
  type PresenceMember,
} from '@metered/protocol';
import { describe, expect, it } from 'vitest';
import { presenceSnapshotFrames } from './presence-snapshot-frames.js';

const member = (index: number): PresenceMember => ({
  peerId: `peer-${index}`,
  // Two bytes per character in UTF-8.
  metadata: { name: 'é'.repeat(2_000) },
});

describe('presenceSnapshotFrames', () => {
  it('is the one frame it always was when the roster fits', () => {
    const members = [member(1), member(2)];
    expect(presenceSnapshotFrames('room', members)).toEqual([encodePresence('room', members, [])]);
    expect(presenceSnapshotFrames('room', [])).toEqual([encodePresence('room', [], [])]);
  });

  it('splits a larger roster in order, each frame as full as the cap allows', () => {
    const members = Array.from({ length: 600 }, (_, index) => member(index));
    const frames = presenceSnapshotFrames('room', members);
    expect(frames.length).toBe(3);
    const parsed = frames.map((text) => JSON.parse(text) as { joined: PresenceMember[] });
    expect(parsed.flatMap((frame) => frame.joined)).toEqual(members);
    for (const [index, text] of frames.entries()) {
      expect(utf8ByteLength(text)).toBeLessThanOrEqual(MAX_SERVER_FRAME_LENGTH);
      expect(JSON.parse(text)).toMatchObject({ type: 'presence', channel: 'room', left: [] });
      const next = parsed[index + 1]?.joined[0];
      if (next === undefined) continue;
      // The first member of the next frame would not have fitted in this one.
      const grown = encodePresence('room', [...(parsed[index]?.joined ?? []), next], []);
      expect(utf8ByteLength(grown)).toBeGreaterThan(MAX_SERVER_FRAME_LENGTH);
    }
  });

  it('splits members that left the same way, in `left`', () => {
    const members = Array.from({ length: 600 }, (_, index) => member(index));
    const frames = presenceSnapshotFrames('room', members, 'left');
    expect(frames.length).toBe(3);
    const parsed = frames.map((text) => JSON.parse(text) as { left: PresenceMember[] });
    expect(parsed.flatMap((frame) => frame.left)).toEqual(members);
    for (const text of frames) {
      expect(utf8ByteLength(text)).toBeLessThanOrEqual(MAX_SERVER_FRAME_LENGTH);
      expect(JSON.parse(text)).toMatchObject({ type: 'presence', channel: 'room', joined: [] });
    }
    expect(presenceSnapshotFrames('room', [member(1)], 'left')).toEqual([
      encodePresence('room', [], [member(1)]),
    ]);
  });
});
