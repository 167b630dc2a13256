// Shared helpers for the comparative benchmarks: arguments, child processes that are always
// stopped, statistics, the machine line and markdown tables.
import { fork, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';

/**
 * Parses `--name value` options with defaults and a `--quick` set. `spec` maps an option name to
 * `[default, quickDefault]` (numbers); a value given on the command line wins over both.
 */
export function options(spec, extra = {}) {
  const parsed = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
      ...Object.fromEntries(Object.keys(spec).map((name) => [name, { type: 'string' }])),
      ...extra,
    },
    strict: true,
    allowPositionals: false,
  }).values;
  const result = { quick: parsed.quick, help: parsed.help };
  for (const [name, [full, quick]] of Object.entries(spec)) {
    if (parsed[name] !== undefined) {
      const value = Number(parsed[name]);
      if (!Number.isFinite(value)) throw new TypeError(`--${name} must be a number`);
      result[name] = value;
    } else result[name] = parsed.quick ? quick : full;
  }
  for (const name of Object.keys(extra)) result[name] = parsed[name];
  if (result.help) {
    const lines = Object.entries(spec).map(
      ([name, [full, quick]]) => `  --${name} N   (default ${full}, --quick ${quick})`,
    );
    process.stdout.write(`options:\n  --quick\n${lines.join('\n')}\n`);
    process.exit(0);
  }
  return result;
}

// ---- processes ----

const children = new Set();

function killAll() {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) {
      try {
        child.kill('SIGKILL');
      } catch {
        // already gone
      }
    }
  }
  children.clear();
}

process.on('exit', killAll);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    killAll();
    process.exit(130);
  });
}
process.on('uncaughtException', (error) => {
  process.stderr.write(`${error?.stack ?? error}\n`);
  killAll();
  process.exit(1);
});
process.on('unhandledRejection', (error) => {
  process.stderr.write(`${error?.stack ?? error}\n`);
  killAll();
  process.exit(1);
});

function track(child) {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

/** Forks a Node script with IPC; it is SIGKILLed when this process exits, however it exits. */
export function forkChild(script, args = [], { execArgv = [], env } = {}) {
  const child = fork(script, args, {
    execArgv,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return new Rpc(track(child));
}

/** Spawns a command; it is SIGKILLed when this process exits. */
export function spawnChild(command, args, spawnOptions = {}) {
  return track(spawn(command, args, { stdio: ['ignore', 'pipe', 'inherit'], ...spawnOptions }));
}

/** Stops a child: SIGTERM, then SIGKILL after `graceMs`. Resolves once it has exited. */
export async function stopChild(child, graceMs = 3000) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

/** Request/response over a forked child's IPC channel: `{id, cmd, …}` → `{id, ok, value | error}`. */
export class Rpc {
  #next = 0;
  #pending = new Map();
  #listeners = new Set();

  constructor(child) {
    this.child = child;
    child.on('message', (message) => {
      if (message && message.reply !== undefined) {
        const pending = this.#pending.get(message.reply);
        if (!pending) return;
        this.#pending.delete(message.reply);
        if (message.error) pending.reject(new Error(message.error));
        else pending.resolve(message.value);
        return;
      }
      for (const listener of this.#listeners) listener(message);
    });
    child.once('exit', (code, signal) => {
      for (const { reject } of this.#pending.values()) {
        reject(new Error(`child exited (${code ?? signal}) with a request pending`));
      }
      this.#pending.clear();
    });
  }

  get pid() {
    return this.child.pid;
  }

  /** Sends a command and waits (at most `timeoutMs`) for its answer. */
  call(cmd, payload = {}, timeoutMs = 120_000) {
    const id = ++this.#next;
    return withTimeout(
      new Promise((resolve, reject) => {
        this.#pending.set(id, { resolve, reject });
        this.child.send({ id, cmd, ...payload });
      }),
      timeoutMs,
      `child command ${cmd}`,
    );
  }

  /** Waits for an unsolicited message matching `predicate`. */
  waitFor(predicate, timeoutMs, what) {
    let listener;
    const promise = new Promise((resolve, reject) => {
      listener = (message) => {
        if (predicate(message)) resolve(message);
      };
      this.#listeners.add(listener);
      this.child.once('exit', (code, signal) =>
        reject(new Error(`child exited (${code ?? signal}) while waiting for ${what}`)),
      );
    });
    return withTimeout(promise, timeoutMs, what).finally(() => this.#listeners.delete(listener));
  }

  onMessage(listener) {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  stop(graceMs) {
    return stopChild(this.child, graceMs);
  }
}

/** The child's side of {@link Rpc}: `handlers[cmd](message)` may return a value or a promise. */
export function serveRpc(handlers) {
  process.on('message', (message) => {
    if (!message || message.id === undefined) return;
    const handler = handlers[message.cmd];
    Promise.resolve()
      .then(() => {
        if (!handler) throw new Error(`unknown command ${message.cmd}`);
        return handler(message);
      })
      .then(
        (value) => process.send?.({ reply: message.id, value }),
        (error) => process.send?.({ reply: message.id, error: String(error?.stack ?? error) }),
      );
  });
  // The parent going away (even by SIGKILL) ends the child.
  process.on('disconnect', () => process.exit(0));
}

// ---- time ----

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Polls `check` every `intervalMs` until it is truthy; throws after `timeoutMs`. */
export async function until(check, timeoutMs, what, intervalMs = 20) {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: ${what}`);
    await sleep(intervalMs);
  }
}

/** Monotonic microseconds, comparable across processes on one machine (CLOCK_MONOTONIC). */
export const nowMicros = () => Number(process.hrtime.bigint() / 1000n);

export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

// ---- /proc ----

const CLOCK_TICKS = 100;

/** CPU time (user + system) of a process in ms, from /proc/<pid>/stat (10 ms resolution). */
export function procCpuMs(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
}

/** `{rssKiB, peakRssKiB}` of a process from /proc/<pid>/status. */
export function procMemory(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name) => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? NaN);
  return { rssKiB: field('VmRSS'), peakRssKiB: field('VmHWM') };
}

// ---- statistics and output ----

export function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index];
}

/** `{median, min, max}` of a list of numbers. */
export function summary(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return {
    median:
      sorted.length % 2
        ? sorted[(sorted.length - 1) / 2]
        : (sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2,
    min: sorted[0],
    max: sorted.at(-1),
  };
}

export function formatNumber(value, digits = 0) {
  if (!Number.isFinite(value)) return 'n/a';
  return value.toLocaleString('en-US', {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
}

/** `a ÷ b` as `1.23×`, or `n/a` when either is missing. */
export function formatRatio(a, b) {
  const ratio = a / b;
  return Number.isFinite(ratio) ? `${formatNumber(ratio, 2)}×` : 'n/a';
}

/** `median (min – max)` of a list, formatted. */
export function formatSummary(values, digits = 0) {
  const { median, min, max } = summary(values);
  return `${formatNumber(median, digits)} (${formatNumber(min, digits)} – ${formatNumber(max, digits)})`;
}

export function loadAverage() {
  return loadavg()
    .map((value) => value.toFixed(2))
    .join(', ');
}

/** One line naming the machine: cores, CPU model, Node, load average now. */
export function machineLine() {
  const cpu = cpus();
  return `Machine: ${cpu.length} cores, ${cpu[0]?.model.trim() ?? 'unknown CPU'}, Node ${process.version}, load average (1, 5, 15 min) ${loadAverage()}`;
}

export function markdownTable(header, rows, align) {
  const widths = header.map((cell, column) =>
    Math.max(String(cell).length, ...rows.map((row) => String(row[column]).length), 3),
  );
  const pad = (cell, column) =>
    align?.[column] === 'right'
      ? String(cell).padStart(widths[column])
      : String(cell).padEnd(widths[column]);
  const line = (cells) => `| ${cells.map(pad).join(' | ')} |`;
  const rule = `| ${widths
    .map((width, column) =>
      align?.[column] === 'right' ? `${'-'.repeat(width - 1)}:` : '-'.repeat(width),
    )
    .join(' | ')} |`;
  return [line(header), rule, ...rows.map(line)].join('\n');
}

/** The command line that ran this script, for the results file. */
export function commandLine() {
  const script = process.argv[1]?.replace(/^.*?\/bench\//, 'bench/') ?? '';
  const relative = (path) => path.replace(/^.*?\/(apps|bench)\//, '$1/');
  const environment = ['METERED_SERVER_MODULE', 'METERED_BASELINE_MODULE']
    .filter((name) => process.env[name])
    .map((name) => `${name}=${relative(process.env[name])}`);
  return [...environment, 'node', script, ...process.argv.slice(2)].join(' ');
}

export function log(message) {
  process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}
