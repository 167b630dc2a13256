import { compileChannelPattern } from '@metered/protocol';

/** Whether a configured channel pattern compiles (keys' scopes, history rules). */
export function isValidChannelPattern(pattern: string): boolean {
  try {
    compileChannelPattern(pattern);
    return true;
  } catch {
    return false;
  }
}
