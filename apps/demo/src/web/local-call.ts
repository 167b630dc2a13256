import type { Identity } from './identity.js';

/** The page's own video: the camera, or a test pattern where there is none. */
export interface LocalMedia {
  readonly stream: MediaStream;
  readonly source: 'camera' | 'test pattern';
}

/** A test stream drawn on a canvas: used where no camera is available (headless, CI). */
function testPattern(label: string, colour: string): MediaStream {
  const canvas = document.createElement('canvas');
  canvas.width = 320;
  canvas.height = 240;
  const context = canvas.getContext('2d');
  let frame = 0;
  const draw = (): void => {
    if (!context) return;
    frame += 1;
    context.fillStyle = '#111427';
    context.fillRect(0, 0, canvas.width, canvas.height);
    context.fillStyle = colour;
    const x = 160 + Math.cos(frame / 15) * 100;
    context.beginPath();
    context.arc(x, 120, 36, 0, Math.PI * 2);
    context.fill();
    context.fillStyle = '#fff';
    context.font = 'bold 20px system-ui, sans-serif';
    context.fillText(label, 14, 30);
    context.font = '14px ui-monospace, monospace';
    context.fillText(`frame ${frame}`, 14, 224);
  };
  draw();
  setInterval(draw, 66);
  return canvas.captureStream(15);
}

/**
 * The call of this tab. It outlives a connection: after a kick and a rejoin the new peer sends
 * the same video again, without asking for the camera twice.
 */
export class LocalCall {
  readonly #identity: Identity;
  #media: Promise<LocalMedia> | undefined;

  constructor(identity: Identity) {
    this.#identity = identity;
  }

  /** The media once started, or `undefined` before "Start video". */
  get media(): Promise<LocalMedia> | undefined {
    return this.#media;
  }

  /** Starts the camera (or the test pattern) once; later calls return the same media. */
  start(): Promise<LocalMedia> {
    this.#media ??= navigator.mediaDevices.getUserMedia({ video: true, audio: false }).then(
      (stream): LocalMedia => ({ stream, source: 'camera' }),
      (): LocalMedia => ({
        stream: testPattern(this.#identity.name, this.#identity.colour),
        source: 'test pattern',
      }),
    );
    return this.#media;
  }
}
