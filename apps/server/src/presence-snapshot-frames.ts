import {
  MAX_SERVER_FRAME_LENGTH,
  encodePresence,
  utf8ByteLength,
  type PresenceMember,
} from '@metered/protocol';

/** UTF-8 bytes of a frame, without counting when it cannot pass `limit` (3 bytes per unit at most). */
function fits(text: string, limit: number): boolean {
  return text.length * 3 <= limit || utf8ByteLength(text) <= limit;
}

/**
 * The `presence` frames that answer a `subscribe`: the channel's members in `joined`, `left: []`.
 * One frame when it fits in the 1 MiB every protocol v1 client accepts (a client closes with
 * 1009 above it, and would reconnect into the same frame); otherwise several, in roster order,
 * each filled with as many members as fit, so the first frame (which clients that reconcile
 * after a reconnect take as the roster) holds as much of it as it can. The frames are written
 * back to back: nothing of the channel comes between them, and their union is the roster.
 * With `side` `'left'`, the same for members that left (`joined: []`).
 */
export function presenceSnapshotFrames(
  channel: string,
  members: readonly PresenceMember[],
  side: 'joined' | 'left' = 'joined',
): string[] {
  const encode = (part: readonly PresenceMember[]): string =>
    side === 'joined' ? encodePresence(channel, part, []) : encodePresence(channel, [], part);
  const whole = encode(members);
  if (fits(whole, MAX_SERVER_FRAME_LENGTH)) return [whole];
  const frames: string[] = [];
  const emptyBytes = utf8ByteLength(encodePresence(channel, [], []));
  let part: PresenceMember[] = [];
  let bytes = emptyBytes;
  for (const member of members) {
    // A member is at most a 128-character id and 4 KiB of metadata: one always fits a frame.
    const memberBytes = utf8ByteLength(JSON.stringify(member));
    if (part.length > 0 && bytes + 1 + memberBytes > MAX_SERVER_FRAME_LENGTH) {
      frames.push(encode(part));
      part = [];
      bytes = emptyBytes;
    }
    // A comma before every entry but the first.
    bytes += (part.length > 0 ? 1 : 0) + memberBytes;
    part.push(member);
  }
  if (part.length > 0) frames.push(encode(part));
  return frames;
}
