// Loaded into a benchmark server with `--import`: for every small read (< 2,000 bytes) of a TCP
// socket, the time until the server's first and second writes after it, and how long each of
// those writes spent in the system call. At exit it appends one line of medians to the file named
// by FIRST_WRITE_PROBE_OUT. For the one-at-a-time round trip: how fast the server answers a
// frame, and what the answer's write costs.
//
//   FIRST_WRITE_PROBE_OUT=/tmp/probe.txt \
//   BENCH_SERVER_EXEC_ARGV="--import $PWD/bench/lib/first-write-probe.mjs" \
//   node bench/roundtrip.mjs --servers raw-relay,metered-wire
import { appendFileSync } from 'node:fs';
import net from 'node:net';

const MAX_SAMPLES = 200_000;
const prototype = net.Socket.prototype;
const push = prototype.push;
const writeGeneric = prototype._writeGeneric;
/** Per write after a read (first, second): [start after the read, time in the write], µs. */
const samples = [[], []];
let readAt = 0n;
let writesSinceRead = 0;

prototype.push = function probedPush(chunk, encoding) {
  if (chunk && chunk.length < 2000) {
    readAt = process.hrtime.bigint();
    writesSinceRead = 0;
  }
  return push.call(this, chunk, encoding);
};
prototype._writeGeneric = function probedWrite(...args) {
  const start = process.hrtime.bigint();
  const result = writeGeneric.apply(this, args);
  const end = process.hrtime.bigint();
  const list = samples[writesSinceRead++];
  if (readAt !== 0n && list !== undefined && list.length < MAX_SAMPLES) {
    list.push([Number(start - readAt) / 1000, Number(end - start) / 1000]);
  }
  return result;
};

process.on('exit', () => {
  const out = process.env.FIRST_WRITE_PROBE_OUT;
  if (!out) return;
  const median = (list, index) => {
    const sorted = list.map((entry) => entry[index]).sort((a, b) => a - b);
    return sorted.length === 0 ? NaN : sorted[sorted.length >> 1];
  };
  const [first, second] = samples;
  const script = process.argv[1]?.split('/').pop();
  appendFileSync(
    out,
    `${script}: ${first.length} reads; first write after ${median(first, 0).toFixed(1)} µs, ` +
      `in the system call ${median(first, 1).toFixed(1)} µs; second write after ` +
      `${median(second, 0).toFixed(1)} µs, in the system call ${median(second, 1).toFixed(1)} µs (medians)\n`,
  );
});
