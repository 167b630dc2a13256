export { Emitter } from './emitter.js';
export { StreamingEmitter, type EventStreamOptions } from './streaming-emitter.js';
export type { EventClass, EventHandler } from './event-class.js';
