import type { Direct } from '@metered/signalling';
import { MAX_HELD_DIRECTS as maxHeldDirects } from './options.js';

/**
 * Directs that arrive while the members they come from are not known yet (while joining, and
 * after a reconnect until the roster came), kept in order for when they are: at most
 * `maxHeldDirects`, further ones dropped.
 */
export class HeldDirects {
  #held: Direct[] | undefined;

  /** Directs are held from now on. */
  hold(): void {
    this.#held = [];
  }

  /** Directs are held (not delivered as they arrive). */
  get holding(): boolean {
    return this.#held !== undefined;
  }

  /** Holds `event`; `false` when it was dropped (too many held). */
  add(event: Direct): boolean {
    const held = this.#held;
    if (!held || held.length >= maxHeldDirects) return false;
    held.push(event);
    return true;
  }

  /** Stops holding; returns what was held, in arrival order. */
  release(): Direct[] {
    const held = this.#held ?? [];
    this.#held = undefined;
    return held;
  }
}
