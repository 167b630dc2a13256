/** Who this tab is in the room: a stable peer id for the page's life, a name and a colour. */
export interface Identity {
  readonly peerId: string;
  readonly name: string;
  readonly colour: string;
}

const NAMES = ['Ada', 'Grace', 'Linus', 'Margaret', 'Alan', 'Barbara', 'Dennis', 'Radia'];
const COLOURS = ['#4f46e5', '#0d9488', '#db2777', '#ea580c', '#2563eb', '#7c3aed', '#16a34a'];

function pick<T>(items: readonly T[]): T {
  return items[Math.floor(Math.random() * items.length)] as T;
}

export function randomName(): string {
  return pick(NAMES);
}

export function randomColour(): string {
  return pick(COLOURS);
}

/** A peer id that reads as the name: `ada-3f9c1e`. */
export function makeIdentity(name: string, colour: string): Identity {
  const slug =
    name
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-|-$/g, '')
      .slice(0, 24) || 'guest';
  const suffix = Array.from(crypto.getRandomValues(new Uint8Array(3)), (byte) =>
    byte.toString(16).padStart(2, '0'),
  ).join('');
  return { peerId: `${slug}-${suffix}`, name: name.trim() || 'Guest', colour };
}
