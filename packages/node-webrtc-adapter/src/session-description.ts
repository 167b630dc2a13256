/** The types of a session description. */
export type RTCSdpTypeLike = 'offer' | 'answer' | 'pranswer' | 'rollback';

/** The fields of `RTCSessionDescriptionInit`. */
export interface RTCSessionDescriptionInitLike {
  type?: RTCSdpTypeLike | undefined;
  sdp?: string | undefined;
}

/** An `RTCSessionDescription`. */
export class NodeRTCSessionDescription {
  readonly type: RTCSdpTypeLike;
  readonly sdp: string;

  constructor(init: { type: RTCSdpTypeLike; sdp?: string | undefined }) {
    this.type = init.type;
    this.sdp = init.sdp ?? '';
    Object.freeze(this);
  }

  toJSON(): { type: RTCSdpTypeLike; sdp: string } {
    return { type: this.type, sdp: this.sdp };
  }
}
