/** A UTF-16 code unit of a surrogate pair standing alone (Unicode property `Cs` in a `u` regex). */
const LONE_SURROGATE = /\p{Cs}/u;

/**
 * True when a channel name holds a lone surrogate. Such a name has no UTF-8 form: every byte
 * encoding (a Redis key, a log line) turns it into U+FFFD, so two names that differ only there
 * would share a roster. The server refuses them with `invalid_channel`.
 */
export function hasLoneSurrogate(name: string): boolean {
  return LONE_SURROGATE.test(name);
}
