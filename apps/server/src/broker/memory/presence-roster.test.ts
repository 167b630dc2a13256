import { describe, expect, it } from 'vitest';
import { PresenceRoster } from './presence-roster.js';

describe('PresenceRoster (per peer id)', () => {
  it('joins a new peer id, replaces on a second socket and leaves with the last one', () => {
    const roster = new PresenceRoster();
    expect(roster.add('c1', 'alice', { tab: 1 })).toEqual({
      kind: 'joined',
      member: { peerId: 'alice', metadata: { tab: 1 } },
    });
    expect(roster.add('c1', 'alice', { tab: 1 })).toEqual({ kind: 'none' });
    expect(roster.add('c2', 'alice', undefined)).toEqual({
      kind: 'replaced',
      previous: { peerId: 'alice', metadata: { tab: 1 } },
      member: { peerId: 'alice' },
    });
    expect(roster.members()).toEqual([{ peerId: 'alice' }]);
    expect(roster.remove('c1', 'alice')).toEqual({ kind: 'none' });
    expect(roster.remove('c2', 'alice')).toEqual({ kind: 'left', member: { peerId: 'alice' } });
    expect(roster.remove('c2', 'alice')).toEqual({ kind: 'none' });
    expect(roster.size).toBe(0);
  });

  it('lists members except one peer id', () => {
    const roster = new PresenceRoster();
    roster.add('c1', 'alice', undefined);
    roster.add('c2', 'bob', undefined);
    expect(roster.members('alice')).toEqual([{ peerId: 'bob' }]);
  });
});
