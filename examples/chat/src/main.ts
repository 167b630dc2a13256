#!/usr/bin/env node
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { joinChat } from './chat.js';

const { values } = parseArgs({
  options: {
    name: { type: 'string', default: process.env.USER ?? 'guest' },
    room: { type: 'string', default: 'lobby' },
    url: { type: 'string', default: 'ws://127.0.0.1:9292' },
    // The development server's secret key; use your own (and mint tokens on your backend).
    key: { type: 'string', default: 'sk_id_dev:sk_secret_dev' },
  },
});
const [id = '', secret = ''] = values.key.split(':');

const chat = await joinChat({
  url: values.url,
  secretKey: { id, secret },
  room: values.room,
  name: values.name,
  print: (line) => console.log(line),
});
console.log(`* you are ${values.name} in ${values.room}; /who lists the others, /quit leaves`);

const input = createInterface({ input: process.stdin });
for await (const line of input) {
  const text = line.trim();
  if (text === '/quit') break;
  if (text === '/who') {
    console.log(`* here: ${[...chat.members.values()].join(', ') || 'nobody else'}`);
  } else if (text !== '') {
    await chat.say(text).catch((error: unknown) => console.log(`* not sent: ${String(error)}`));
  }
}
input.close();
await chat.close();
