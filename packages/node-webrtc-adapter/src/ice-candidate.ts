import { stripAttributePrefix } from './sdp.js';

/** The fields of `RTCIceCandidateInit`. */
export interface RTCIceCandidateInitLike {
  candidate?: string | undefined;
  sdpMid?: string | null | undefined;
  sdpMLineIndex?: number | null | undefined;
  usernameFragment?: string | null | undefined;
}

/** An `RTCIceCandidate`: the `candidate` string has no `a=` prefix, as in browsers. */
export class NodeRTCIceCandidate {
  readonly candidate: string;
  readonly sdpMid: string | null;
  readonly sdpMLineIndex: number | null;
  readonly usernameFragment: string | null;
  readonly foundation: string | null;
  readonly component: 'rtp' | 'rtcp' | null;
  readonly priority: number | null;
  readonly address: string | null;
  readonly protocol: 'udp' | 'tcp' | null;
  readonly port: number | null;
  readonly type: 'host' | 'srflx' | 'prflx' | 'relay' | null;

  constructor(init: RTCIceCandidateInitLike = {}) {
    this.candidate = stripAttributePrefix(init.candidate ?? '');
    this.sdpMid = init.sdpMid ?? null;
    this.sdpMLineIndex = init.sdpMLineIndex ?? null;
    const fields = /^candidate:(\S+) (\d+) (\S+) (\d+) (\S+) (\d+) typ (\S+)/i.exec(this.candidate);
    this.foundation = fields?.[1] ?? null;
    this.component = fields === null ? null : fields[2] === '2' ? 'rtcp' : 'rtp';
    this.protocol = fields === null ? null : fields[3]?.toLowerCase() === 'tcp' ? 'tcp' : 'udp';
    this.priority = fields === null ? null : Number(fields[4]);
    this.address = fields?.[5] ?? null;
    this.port = fields === null ? null : Number(fields[6]);
    this.type = (fields?.[7] as NodeRTCIceCandidate['type'] | undefined) ?? null;
    this.usernameFragment =
      init.usernameFragment ?? /\bufrag (\S+)/.exec(this.candidate)?.[1] ?? null;
    Object.freeze(this);
  }

  toJSON(): {
    candidate: string;
    sdpMid: string | null;
    sdpMLineIndex: number | null;
    usernameFragment: string | null;
  } {
    return {
      candidate: this.candidate,
      sdpMid: this.sdpMid,
      sdpMLineIndex: this.sdpMLineIndex,
      usernameFragment: this.usernameFragment,
    };
  }
}
