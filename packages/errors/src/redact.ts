/**
 * Removes credentials from text meant for people or logs: `token=` / `key=` query values, SDP
 * `ice-pwd` / `ice-ufrag`, TURN `credential` fields, bearer secrets and anything shaped like a JWT.
 */
export function redactSecrets(text: string): string {
  return text
    .replace(
      /([?&](?:token|key|secret)=|ice-(?:pwd|ufrag):|"?credential"?\s*[:=]\s*"?|Bearer\s+)[^&\s"'#,}]+/gi,
      '$1[redacted]',
    )
    .replace(/\beyJ[\w-]*\.[\w-]+\.[\w-]*/g, '[redacted]');
}
