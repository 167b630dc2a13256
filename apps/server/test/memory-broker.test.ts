import { MemoryBroker } from '../src/index.js';
import { describeBroker } from './broker-suite.js';

describeBroker('memory', async () => {
  const broker = new MemoryBroker();
  return { nodes: [broker, broker], dispose: async () => broker.close() };
});
