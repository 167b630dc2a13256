#!/usr/bin/env node
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { startAgent } from './agent.js';
import { localModel } from './model.js';
import { connectUser } from './user.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    url: { type: 'string', default: 'ws://127.0.0.1:9292' },
    // The development server's secret key; use your own.
    key: { type: 'string', default: 'sk_id_dev:sk_secret_dev' },
    name: { type: 'string', default: process.env.USER ?? 'user' },
  },
});
const [id = '', secret = ''] = values.key.split(':');
const secretKey = { id, secret };

if (positionals[0] === 'agent') {
  const agent = await startAgent({
    url: values.url,
    secretKey,
    model: localModel,
    log: (line) => console.log(line),
  });
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await agent.close();
} else if (positionals[0] === 'ask') {
  const user = await connectUser({
    url: values.url,
    secretKey,
    peerId: `${values.name.toLowerCase().replace(/[^a-z0-9]+/g, '-')}-${crypto.randomUUID().slice(0, 8)}`,
    onTyping: () => console.log('…'),
  });
  console.log('Ask the agent anything (Ctrl-D to leave).');
  const input = createInterface({ input: process.stdin });
  for await (const line of input) {
    if (line.trim() === '') continue;
    console.log(await user.ask(line).catch((error: unknown) => `(${String(error)})`));
  }
  await user.close();
} else {
  console.error('usage: main.js agent | ask [--name N] [--url U] [--key ID:SECRET]');
  process.exitCode = 2;
}
