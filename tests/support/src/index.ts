export {
  FaultProxy,
  FAULT_KINDS,
  type FaultKind,
  type FaultScheduleOptions,
} from './fault-proxy.js';
export { SeededRandom } from './seeded-random.js';
export { waitFor } from './wait-for.js';
export { mintCallToken, startCallServer } from './call-server.js';
