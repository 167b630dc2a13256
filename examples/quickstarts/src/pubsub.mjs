import { Connected, Message, Presence, SignallingClient } from '@metered/signalling';

// `url` is your server (here `npx metered-server` on its development config); leave it out to
// use Metered's hosted service.
const client = new SignallingClient({ url: 'ws://127.0.0.1:9292', apiKey: 'pk_live_dev' });

client.on(Connected, ({ peerId }) => console.log(`connected as ${peerId}`));
client.on(Presence, ({ channel, joined, left }) => {
  for (const member of joined) console.log(`${member.peerId} is in ${channel}`);
  for (const member of left) console.log(`${member.peerId} left ${channel}`);
});
client.on(Message, ({ channel, senderPeerId, data }) => {
  console.log(`${senderPeerId} on ${channel}: ${JSON.stringify(data)}`);
});

await client.connect();
await client.subscribe('lobby');
await client.publish('lobby', { text: 'hello, lobby' });
console.log('said hello in lobby; waiting for the others (Ctrl+C to stop)');
