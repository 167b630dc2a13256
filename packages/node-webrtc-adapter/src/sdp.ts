/** Small, forgiving SDP helpers: only what the adapter reads or rewrites. */

/** One m-line of a session description. */
export interface SdpMediaSection {
  readonly kind: string;
  readonly mid: string | undefined;
  /** `[streamId, trackId]` pairs from `a=msid` (and `a=ssrc … msid:` as a fallback). */
  readonly msids: ReadonlyArray<readonly [string, string]>;
  readonly iceUfrag: string | undefined;
  /** `sendrecv` when the section names no direction. */
  readonly direction: 'sendrecv' | 'sendonly' | 'recvonly' | 'inactive';
  /** The `a=rtpmap` codecs, in order, with their `a=fmtp` parameters. */
  readonly codecs: ReadonlyArray<SdpCodec>;
  /** Port 0: the m-line is rejected or removed. */
  readonly rejected: boolean;
}

/** One codec of an m-line. */
export interface SdpCodec {
  readonly payloadType: number;
  /** As written after the payload type, e.g. `H264/90000` or `opus/48000/2`. */
  readonly name: string;
  readonly fmtp: string | undefined;
}

/** The m-lines of `sdp`, in order. */
export function mediaSections(sdp: string): SdpMediaSection[] {
  const sessionUfrag = /^a=ice-ufrag:(\S+)/m.exec(sdp.split(/\r?\nm=/)[0] ?? '')?.[1];
  const sections: SdpMediaSection[] = [];
  const parts = sdp.split(/\r?\n(?=m=)/);
  for (const part of parts) {
    if (!part.startsWith('m=')) continue;
    const kind = /^m=(\S+)/.exec(part)?.[1] ?? '';
    const mid = /^a=mid:(\S+)/m.exec(part)?.[1];
    const msids: Array<readonly [string, string]> = [];
    for (const match of part.matchAll(/^a=msid:(\S+)(?: (\S+))?/gm)) {
      msids.push([match[1] ?? '-', match[2] ?? '']);
    }
    if (msids.length === 0) {
      for (const match of part.matchAll(/^a=ssrc:\d+ msid:(\S+)(?: (\S+))?/gm)) {
        msids.push([match[1] ?? '-', match[2] ?? '']);
        break;
      }
    }
    const iceUfrag = /^a=ice-ufrag:(\S+)/m.exec(part)?.[1] ?? sessionUfrag;
    const direction = /^a=(sendrecv|sendonly|recvonly|inactive)\s*$/m.exec(part)?.[1] ?? 'sendrecv';
    const codecs: SdpCodec[] = [];
    for (const match of part.matchAll(/^a=rtpmap:(\d+) (\S+)/gm)) {
      const fmtp = new RegExp(`^a=fmtp:${match[1]} (.+?)\\s*$`, 'm').exec(part)?.[1];
      codecs.push({ payloadType: Number(match[1]), name: match[2] ?? '', fmtp });
    }
    sections.push({
      kind,
      mid,
      msids,
      iceUfrag,
      direction: direction as SdpMediaSection['direction'],
      codecs,
      rejected: /^m=\S+ 0 /.test(part),
    });
  }
  return sections;
}

/** The first ICE username fragment of `sdp`. */
export function iceUfragOf(sdp: string): string | undefined {
  return /^a=ice-ufrag:(\S+)/m.exec(sdp)?.[1];
}

/** Removes the `a=` prefix node-datachannel puts on candidate lines. */
export function stripAttributePrefix(candidate: string): string {
  return candidate.startsWith('a=') ? candidate.slice(2) : candidate;
}

/** Removes the candidate lines of `sdp`; returns the bare description and the candidates by mid. */
export function extractCandidates(sdp: string): {
  sdp: string;
  candidates: Array<{ candidate: string; sdpMid: string | undefined }>;
} {
  const candidates: Array<{ candidate: string; sdpMid: string | undefined }> = [];
  const eol = sdp.includes('\r\n') ? '\r\n' : '\n';
  const lines = sdp.split(/\r?\n/);
  const kept: string[] = [];
  let mid: string | undefined;
  let section: string[] = [];
  const flush = () => {
    for (const line of section) {
      if (line.startsWith('a=candidate:'))
        candidates.push({ candidate: line.slice(2), sdpMid: mid });
    }
    kept.push(
      ...section.filter(
        (line) => !line.startsWith('a=candidate:') && line !== 'a=end-of-candidates',
      ),
    );
    section = [];
  };
  for (const line of lines) {
    if (line.startsWith('m=')) {
      flush();
      mid = undefined;
    }
    if (line.startsWith('a=mid:')) mid = line.slice(6).trim();
    section.push(line);
  }
  flush();
  return { sdp: kept.join(eol), candidates };
}

/** Whether `sdp` has an application (data channel) m-line that is not disabled (port 0). */
export function hasActiveApplication(sdp: string): boolean {
  return /^m=application [1-9]/m.test(sdp);
}
