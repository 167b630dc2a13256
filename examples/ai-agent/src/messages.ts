/** What a user sends the agent, as a direct message. */
export interface Ask {
  readonly type: 'ask';
  readonly text: string;
}

/** What the agent sends back: `typing` first, then the answer (or an error). */
export type Reply =
  | { readonly type: 'typing' }
  | { readonly type: 'answer'; readonly text: string }
  | { readonly type: 'error'; readonly text: string };

export function isAsk(value: unknown): value is Ask {
  const ask = value as Partial<Ask> | null;
  return ask?.type === 'ask' && typeof ask.text === 'string';
}

export function isReply(value: unknown): value is Reply {
  const reply = value as { type?: unknown; text?: unknown } | null;
  return (
    reply?.type === 'typing' ||
    ((reply?.type === 'answer' || reply?.type === 'error') && typeof reply.text === 'string')
  );
}
