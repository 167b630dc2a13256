// The server-level settings of the protocol extensions (`extensions`, `resume`), part of the
// configuration file's schema (config.ts).
import { z } from 'zod';

export const extensionsSchema = z
  .object({
    resume: z
      .boolean()
      .default(true)
      .describe(
        'Session resume: a client that sent `session` and drops abnormally gets its peer id, memberships and held directs back when it reconnects within `resume.windowMs`. Off: `welcome` does not advertise it and `session` is answered with `unknown_type`.',
      ),
    refresh: z
      .boolean()
      .default(true)
      .describe(
        'In-band token refresh: `refresh {token}` on a token connection moves its expiry and replaces its scope. Off: `welcome` does not advertise it and `refresh` is answered with `unknown_type`.',
      ),
  })
  .strict()
  .describe(
    'Protocol extensions this server serves, each advertised in `welcome.extensions`. Clients that do not use them (the vendor SDK) see no difference.',
  );

export const resumeSchema = z
  .object({
    windowMs: z
      .number()
      .int()
      .min(1_000)
      .max(300_000)
      .default(15_000)
      .describe(
        'How long a session that negotiated resume is held after an abnormal close (its members see no `left` meanwhile), and how long its resume credential is valid.',
      ),
    maxHeldDirects: z
      .number()
      .int()
      .min(0)
      .max(10_000)
      .default(256)
      .describe(
        "Directs kept for a held session. Once full, the session's peer id takes no more directs while held: senders get `peer_not_found` (unless another socket of that peer id is online).",
      ),
  })
  .strict()
  .describe('Settings of the `resume` extension.');
