import { describeCloseCode, describeErrorCode } from '@metered/errors/reference';
import {
  Connected,
  Disconnected,
  DisconnectedError,
  Message,
  Presence,
  ServerError,
  ServerRequestError,
  SignallingClient,
  StateChange,
  type SignallingState,
} from '@metered/signalling';
import { avatar, byId, h, showResult } from './dom.js';
import type { Identity } from './identity.js';

/** A reserved prefix: the server refuses it with `channel_reserved`. */
export const RESERVED_CHANNEL = '_metered/x';

/** How others are shown: the token's peer metadata. */
interface Member {
  readonly name: string;
  readonly colour: string;
}

/** A chat message on the wire. */
interface ChatPayload {
  readonly text: string;
}

function isChat(data: unknown): data is ChatPayload {
  return (
    typeof data === 'object' && data !== null && typeof (data as ChatPayload).text === 'string'
  );
}

function memberOf(metadata: Readonly<Record<string, unknown>> | null, peerId: string): Member {
  const name = typeof metadata?.name === 'string' ? metadata.name : peerId;
  const colour =
    typeof metadata?.colour === 'string' && /^#[0-9a-fA-F]{6}$/.test(metadata.colour)
      ? metadata.colour
      : '#64748b';
  return { name, colour };
}

function errorText(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}

async function postJson(path: string, body: unknown, signal?: AbortSignal): Promise<unknown> {
  const response = await fetch(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    ...(signal && { signal }),
  });
  const answer = (await response.json()) as { error?: string };
  if (!response.ok) throw new Error(answer.error ?? `HTTP ${response.status}`);
  return answer;
}

export interface RoomOptions {
  readonly serverUrl: string;
  readonly room: string;
  readonly identity: Identity;
}

/**
 * The room: one SignallingClient subscribed to `demo/<room>` with sender metadata, a presence
 * roster, chat, the connection panel and the error-contract buttons.
 */
export class RoomView {
  readonly channel: string;
  readonly #options: RoomOptions;
  readonly #roster = new Map<string, Member>();
  readonly #listeners: (() => void)[] = [];
  #client: SignallingClient | undefined;
  #maxMessageSize = 65_536;
  /** The next Presence is a subscribe snapshot: no "joined" lines in the chat for it. */
  #awaitingSnapshot = true;
  #oversizedPending = false;
  #kickPending = false;
  /** Called with each new client, so other panels can share it. */
  onClient: ((client: SignallingClient) => void) | undefined;

  constructor(options: RoomOptions) {
    this.#options = options;
    this.channel = `demo/${options.room}`;
  }

  get client(): SignallingClient | undefined {
    return this.#client;
  }

  get identity(): Identity {
    return this.#options.identity;
  }

  /** Wires the page's controls; call once. */
  mount(): void {
    const { identity, room } = this.#options;
    byId('room').hidden = false;
    byId('join-card').hidden = true;
    byId('whoami').hidden = false;
    byId('whoami-name').textContent = identity.name;
    byId('whoami-avatar').replaceWith(avatar(identity.name, identity.colour));
    byId('room-name').textContent = room;
    byId('peer-id').textContent = identity.peerId;
    this.#renderRoster();

    byId<HTMLFormElement>('chat-form').addEventListener('submit', (event) => {
      event.preventDefault();
      const input = byId<HTMLInputElement>('chat-input');
      const text = input.value.trim();
      if (!text) return;
      input.value = '';
      void this.#sendChat(text);
    });
    byId('btn-reserved').addEventListener('click', () => void this.#publishReserved());
    byId('btn-oversized').addEventListener('click', () => void this.#sendOversized());
    byId('btn-kick').addEventListener('click', () => void this.#kickMe());
    byId('rejoin').addEventListener('click', () => void this.connect());
  }

  /** Opens a fresh client and joins the room's channel. */
  async connect(): Promise<void> {
    this.#detach();
    const { identity, serverUrl } = this.#options;
    byId('rejoin').hidden = true;
    const client = new SignallingClient({
      url: serverUrl,
      tokenProvider: async ({ signal }) => {
        const answer = (await postJson(
          '/api/token',
          { peerId: identity.peerId, name: identity.name, colour: identity.colour },
          signal,
        )) as { token: string };
        return answer.token;
      },
    });
    this.#client = client;
    this.#listeners.push(
      client.on(StateChange, (event) => this.#showState(event.to)),
      client.on(Connected, (event) => {
        this.#maxMessageSize = event.maxMessageSize;
        this.log(event.isReconnect ? 'reconnected' : `connected as ${event.peerId}`);
        if (event.isReconnect) {
          // The re-subscribe's snapshot rebuilds the roster; peers may have left meanwhile.
          this.#roster.clear();
          this.#awaitingSnapshot = true;
          this.#renderRoster();
          if (this.#oversizedPending) {
            this.#oversizedPending = false;
            const result = byId('result-oversized');
            showResult(result, 'ok', `${result.textContent ?? ''} → reconnected`);
          }
        }
      }),
      client.on(Disconnected, (event) => this.#onDisconnected(event)),
      client.on(Presence, (event) => this.#onPresence(event)),
      client.on(Message, (event) => {
        if (event.channel !== this.channel || !isChat(event.data)) return;
        this.#appendChat(
          memberOf(event.senderMetadata, event.senderPeerId),
          event.data.text,
          false,
        );
      }),
      client.on(ServerError, (event) => this.log(`server error ${event.code}`)),
    );
    this.onClient?.(client);
    try {
      await client.connect();
      this.#awaitingSnapshot = true;
      await client.subscribe(this.channel, { includeSenderMetadata: true });
      this.log(`joined ${this.channel}`);
    } catch (error) {
      this.log(`could not join: ${errorText(error)}`);
    }
  }

  #detach(): void {
    for (const off of this.#listeners.splice(0)) off();
    this.#roster.clear();
    this.#renderRoster();
  }

  #showState(state: SignallingState): void {
    const badge = byId('state');
    badge.textContent = state;
    badge.dataset.state = state;
    this.log(`state ${state}`);
  }

  #onDisconnected(event: Disconnected): void {
    const info = describeCloseCode(event.code);
    byId('close-code').textContent = String(event.code);
    byId('close-member').textContent = info.member ?? '';
    byId('close-meaning').textContent = info.meaning;
    byId('close-sdk').textContent = info.sdkDoes;
    byId('close-advice').textContent = info.youShould;
    byId('close-info').hidden = false;
    this.log(
      `closed ${event.code}${info.member ? ` ${info.member}` : ''}, ${
        event.willReconnect ? 'reconnecting' : 'terminal'
      }`,
    );
    const label = `${event.code} ${info.member ?? ''}`.trim();
    if (this.#oversizedPending && event.code !== 4020) {
      showResult(
        byId('result-oversized'),
        'pending',
        `Closed with ${label}: ${info.meaning} ${event.willReconnect ? 'Reconnecting' : 'Stopped'}`,
      );
    }
    if (this.#kickPending || event.code === 4020) {
      this.#kickPending = false;
      showResult(
        byId('result-kick'),
        'error',
        `Closed with ${label}: ${info.meaning} ${
          event.willReconnect ? 'The client reconnects.' : 'Terminal: no reconnect.'
        }`,
      );
    }
    if (!event.willReconnect) {
      this.#oversizedPending = false;
      this.#roster.clear();
      this.#renderRoster();
      byId('rejoin').hidden = false;
    }
  }

  #onPresence(event: Presence): void {
    if (event.channel !== this.channel) return;
    const snapshot = this.#awaitingSnapshot;
    this.#awaitingSnapshot = false;
    for (const peer of event.left) {
      const member = this.#roster.get(peer.peerId);
      this.#roster.delete(peer.peerId);
      if (member && !snapshot) this.#appendSystem(`${member.name} left`);
    }
    for (const peer of event.joined) {
      const member = memberOf(peer.metadata, peer.peerId);
      const known = this.#roster.has(peer.peerId);
      this.#roster.set(peer.peerId, member);
      if (!known && !snapshot) this.#appendSystem(`${member.name} joined`);
    }
    this.log(
      `presence +${event.joined.length} −${event.left.length}${snapshot ? ' (snapshot)' : ''}`,
    );
    this.#renderRoster();
  }

  #renderRoster(): void {
    const { identity } = this.#options;
    const list = byId('presence');
    const items = [
      h(
        'li',
        { 'data-peer-id': identity.peerId },
        avatar(identity.name, identity.colour),
        h('span', { class: 'name' }, identity.name),
        h('span', { class: 'you' }, 'you'),
      ),
    ];
    const others = [...this.#roster].sort(([, a], [, b]) => a.name.localeCompare(b.name));
    for (const [peerId, member] of others) {
      items.push(
        h(
          'li',
          { 'data-peer-id': peerId },
          avatar(member.name, member.colour),
          h('span', { class: 'name' }, member.name),
        ),
      );
    }
    list.replaceChildren(...items);
    byId('presence-count').textContent = String(items.length);
  }

  async #sendChat(text: string): Promise<void> {
    const client = this.#client;
    if (!client) return;
    try {
      await client.publish(this.channel, { text } satisfies ChatPayload);
      const { name, colour } = this.#options.identity;
      this.#appendChat({ name, colour }, text, true);
    } catch (error) {
      this.#appendSystem(`not sent (${errorText(error)})`);
    }
  }

  #appendChat(member: Member, text: string, mine: boolean): void {
    const author = h('span', { class: 'author' }, member.name);
    author.style.color = member.colour;
    this.#appendLine(
      h(
        'li',
        { class: mine ? 'mine' : undefined },
        avatar(member.name, member.colour),
        h('div', { class: 'bubble' }, author, h('span', { class: 'text' }, text)),
      ),
    );
  }

  #appendSystem(text: string): void {
    this.#appendLine(h('li', { class: 'system' }, text));
  }

  #appendLine(item: HTMLLIElement): void {
    const list = byId('messages');
    list.append(item);
    list.scrollTop = list.scrollHeight;
  }

  /** Adds a line to the connection panel's event log. */
  log(text: string): void {
    const log = byId('event-log');
    const time = new Date().toLocaleTimeString([], { hour12: false });
    log.prepend(h('li', {}, h('time', {}, time), text));
    while (log.childElementCount > 60) log.lastElementChild?.remove();
  }

  async #publishReserved(): Promise<void> {
    const result = byId('result-reserved');
    const client = this.#client;
    if (!client) return;
    showResult(result, 'pending', `Publishing to ${RESERVED_CHANNEL}…`);
    try {
      await client.publish(RESERVED_CHANNEL, { text: 'hello' });
      showResult(result, 'ok', 'Accepted (unexpected: the server should refuse it).');
    } catch (error) {
      if (error instanceof ServerRequestError) {
        const info = describeErrorCode(error.code);
        showResult(result, 'error', `${error.name} ${error.code}: ${info.triggeredBy} ${info.fix}`);
      } else {
        showResult(result, 'error', errorText(error));
      }
    }
  }

  async #sendOversized(): Promise<void> {
    const result = byId('result-oversized');
    const client = this.#client;
    if (!client) return;
    const size = this.#maxMessageSize + 1024;
    this.#oversizedPending = true;
    showResult(result, 'pending', `Publishing ${size} bytes (the cap is ${this.#maxMessageSize})…`);
    try {
      await client.publish(this.channel, { text: 'x'.repeat(size) });
      this.#oversizedPending = false;
      showResult(result, 'ok', 'Accepted (unexpected: the server should close the socket).');
    } catch (error) {
      // The frame was sent, then the socket closed with 1009: the publish rejects with
      // DisconnectedError while the Disconnected event reports the code.
      if (!(error instanceof DisconnectedError)) {
        this.#oversizedPending = false;
        showResult(result, 'error', errorText(error));
      }
    }
  }

  async #kickMe(): Promise<void> {
    const result = byId('result-kick');
    this.#kickPending = true;
    showResult(result, 'pending', 'Asking the backend to DELETE /v1/peers/:peerId…');
    try {
      await postJson('/api/kick', { peerId: this.#options.identity.peerId });
    } catch (error) {
      this.#kickPending = false;
      showResult(result, 'error', `kick failed: ${errorText(error)}`);
    }
  }
}
