import { packageConfig } from '@metered/tooling/tsup';

// ESM only, for Node: the library entry (startDemo), the bot (WebRTC, `@metered/demo/bot`) and
// the CLI. The web page is bundled
// separately for the browser by scripts/build-web.mjs.
export default {
  ...packageConfig({
    entry: { index: 'src/index.ts', bot: 'src/bot.ts', cli: 'src/cli.ts' },
    platform: 'node',
  }),
  format: ['esm'],
  target: 'node20',
};
