/**
 * Maps each media section's `mid` to the sender's track id, from the `a=msid:<stream> <track>`
 * lines of an SDP (browsers may give receiving tracks ids of their own; the msid keeps the
 * sender's). Sections without a track id in their msid are left out.
 */
export function senderTrackIdsByMid(sdp: string | undefined): Map<string, string> {
  const result = new Map<string, string>();
  if (!sdp) return result;
  for (const section of sdp.split(/\r?\nm=/).slice(1)) {
    let mid: string | undefined;
    let trackId: string | undefined;
    for (const line of section.split(/\r?\n/)) {
      if (line.startsWith('a=mid:')) mid = line.slice(6).trim();
      else if (line.startsWith('a=msid:')) {
        const parts = line.slice(7).trim().split(/\s+/);
        if (parts[1] && parts[1] !== '-') trackId = parts[1];
      } else if (trackId === undefined) {
        // Plan B era form: a=ssrc:<n> msid:<stream> <track>
        const match = /^a=ssrc:\d+ msid:\S+ (\S+)/.exec(line);
        if (match?.[1]) trackId = match[1];
      }
    }
    if (mid !== undefined && trackId !== undefined) result.set(mid, trackId);
  }
  return result;
}
