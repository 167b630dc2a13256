#!/usr/bin/env node
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { parseArgs } from 'node:util';
import { startBot } from './bot.js';
import { sendToBot } from './sender.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    room: { type: 'string', default: 'files' },
    dir: { type: 'string', default: './received' },
    url: { type: 'string', default: 'ws://127.0.0.1:9292' },
    // The development server's secret key; use your own.
    key: { type: 'string', default: 'sk_id_dev:sk_secret_dev' },
  },
});
const [id = '', secret = ''] = values.key.split(':');
const secretKey = { id, secret };
const [command, file] = positionals;

if (command === 'bot') {
  const bot = await startBot({
    url: values.url,
    secretKey,
    room: values.room,
    directory: values.dir,
    log: (line) => console.log(line),
  });
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await bot.close();
} else if (command === 'send' && file) {
  const bytes = new Uint8Array(await readFile(file));
  const receipt = await sendToBot({
    url: values.url,
    secretKey,
    room: values.room,
    name: basename(file),
    bytes,
    onProgress: (sent, total) => process.stderr.write(`\rsent ${sent}/${total} bytes`),
  });
  process.stderr.write('\n');
  console.log(receipt.ok ? `delivered, sha256 ${receipt.sha256}` : 'damaged in transit');
  process.exitCode = receipt.ok ? 0 : 1;
} else {
  console.error(
    'usage: main.js bot [--dir D] | send FILE   [--room R] [--url U] [--key ID:SECRET]',
  );
  process.exitCode = 2;
}
