import { byId } from './dom.js';
import { makeIdentity, randomColour, randomName } from './identity.js';
import { LocalCall } from './local-call.js';
import { P2PView } from './p2p.js';
import { RoomView } from './room.js';

interface DemoConfig {
  readonly serverUrl: string;
}

const ROOM = /^[A-Za-z0-9_-]{1,48}$/;

async function start(): Promise<void> {
  const config = (await (await fetch('/config.json')).json()) as DemoConfig;
  const params = new URLSearchParams(location.search);
  const nameInput = byId<HTMLInputElement>('join-name');
  const roomInput = byId<HTMLInputElement>('join-room');
  const colourInput = byId<HTMLInputElement>('join-colour');
  nameInput.value = params.get('name') ?? randomName();
  roomInput.value = params.get('room') ?? 'lobby';
  colourInput.value = params.get('colour') ?? randomColour();

  const join = (): void => {
    const room = roomInput.value.trim();
    if (!ROOM.test(room)) {
      roomInput.setCustomValidity('letters, digits, "-" or "_"');
      roomInput.reportValidity();
      return;
    }
    const identity = makeIdentity(nameInput.value, colourInput.value);
    const url = new URL(location.href);
    url.searchParams.set('room', room);
    url.searchParams.set('name', identity.name);
    history.replaceState(null, '', url);
    const view = new RoomView({ serverUrl: config.serverUrl, room, identity });
    const call = new LocalCall(identity);
    view.mount();
    let p2p: P2PView | undefined;
    view.onClient = (client) => {
      p2p?.close();
      p2p = new P2PView(byId('p2p'), {
        client,
        room,
        identity,
        call,
        log: (text) => view.log(text),
      });
      void p2p.start();
    };
    void view.connect();
  };

  roomInput.addEventListener('input', () => roomInput.setCustomValidity(''));
  byId<HTMLFormElement>('join-form').addEventListener('submit', (event) => {
    event.preventDefault();
    join();
  });
  if (params.has('name') && params.has('room')) join();
}

void start();
