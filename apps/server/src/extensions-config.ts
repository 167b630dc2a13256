import { z } from 'zod';

// The server-level switches of the protocol extensions: each one on by default, `false` takes it
// off the wire (its `welcome` key, its frames, its extra keys).

export const extensionsSchema = z
  .object({
    recovery: z
      .boolean()
      .default(true)
      .describe(
        'Channel history with offsets and epochs, and recovery on `subscribe` with `since`. `false`: messages carry no offset, `since` is ignored, the REST history route answers 404.',
      ),
    idempotency: z
      .boolean()
      .default(true)
      .describe('`idempotencyKey` on `publish` and `send`. `false`: the key is ignored.'),
    resume: z
      .boolean()
      .default(true)
      .describe(
        'Session resume: a client that sent `session` and drops abnormally gets its peer id, memberships and held directs back when it reconnects within `resume.windowMs`. `false`: `welcome` does not advertise it and `session` is answered with `unknown_type`.',
      ),
    refresh: z
      .boolean()
      .default(true)
      .describe(
        'In-band token refresh: `refresh {token}` on a token connection moves its expiry and replaces its scope. `false`: `welcome` does not advertise it and `refresh` is answered with `unknown_type`.',
      ),
  })
  .strict()
  .describe(
    'Protocol extensions the server offers (advertised in `welcome.extensions`). With all of them off the server speaks plain protocol v1, byte for byte.',
  );

export type ExtensionsConfig = z.output<typeof extensionsSchema>;
