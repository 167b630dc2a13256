/** Throws the `TypeError` of an invalid argument or option: `invalid ${what}`. */
export function invalid(what: string): never {
  throw new TypeError(`invalid ${what}`);
}
