/** One turn of a conversation. */
export interface Turn {
  readonly role: 'user' | 'agent';
  readonly text: string;
}

/**
 * Produces the agent's next answer from the conversation so far (the last turn is the user's
 * question). `signal` aborts when the agent closes.
 */
export type Model = (conversation: readonly Turn[], signal: AbortSignal) => Promise<string>;

/**
 * A stand-in that needs no network: it answers from the conversation itself. Replace it with a
 * call to the model API you use (see the README).
 */
export const localModel: Model = (conversation) => Promise.resolve(answerLocally(conversation));

function answerLocally(conversation: readonly Turn[]): string {
  const questions = conversation.filter((turn) => turn.role === 'user');
  const question = questions.at(-1)?.text.trim() ?? '';
  if (/^(hi|hello|hey)\b/i.test(question)) return 'Hello! Ask me anything.';
  if (/how many/i.test(question) && /asked/i.test(question)) {
    return `You have asked me ${questions.length} questions in this conversation.`;
  }
  const words = question.split(/\s+/).filter(Boolean).length;
  return `You asked "${question}" (${words} words). I am a local stand-in: plug a real model into src/model.ts.`;
}
