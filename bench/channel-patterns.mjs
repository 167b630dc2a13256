#!/usr/bin/env node
// Channel pattern matching: the linear matcher of @metered/protocol against the regular
// expression it replaced, on everyday patterns and on patterns that make a backtracking matcher
// exponential. Per case and run: as many matches as fit in --ms milliseconds; time per match.
//
//   node bench/channel-patterns.mjs [--quick] [--runs 5] [--ms 300]
import { compileChannelPattern } from '@metered/protocol';
import {
  commandLine,
  formatNumber,
  formatSummary,
  log,
  machineLine,
  markdownTable,
  options,
  summary,
} from './lib/common.mjs';

const opts = options({ runs: [5, 2], ms: [300, 50] });

/** The regular-expression matcher of earlier releases. */
function regexChannelPattern(pattern) {
  if (!pattern.includes('*')) return (channel) => channel === pattern;
  let source = '^';
  for (let index = 0; index < pattern.length; index++) {
    const char = pattern[index];
    if (char === '*') {
      if (pattern[index + 1] === '*') {
        source += '[\\s\\S]*';
        index++;
      } else source += '[^/]*';
    } else source += char.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  }
  const regex = new RegExp(`${source}$`, 'u');
  return (channel) => regex.test(channel);
}

const stars = (count, tail) => `${'*a'.repeat(count)}*${tail}`;
const CASES = [
  ['`rooms/*`, matching', 'rooms/*', 'rooms/room-42'],
  ['`rooms/*`, deeper channel', 'rooms/*', 'rooms/room-42/chat'],
  ['`fleet/sensor-*/telemetry`', 'fleet/sensor-*/telemetry', 'fleet/sensor-1742/telemetry'],
  ['`tasks/**`', 'tasks/**', 'tasks/a/b/c'],
  ['`lobby` (no wildcard)', 'lobby', 'lobby'],
  ['`*a`×11 `*b`, 26 characters', stars(11, 'b'), 'a'.repeat(26)],
  ['`*a`×11 `*b`, 40 characters', stars(11, 'b'), 'a'.repeat(40), { regex: false }],
  ['`*a`×11 `*b*`, 20 characters', stars(11, 'b*'), 'a'.repeat(20)],
  ['`*a`×11 `*b*`, 26 characters', stars(11, 'b*'), 'a'.repeat(26)],
  ['`*a`×11 `*b*`, 40 characters', stars(11, 'b*'), 'a'.repeat(40), { regex: false }],
  ['`*a`×60 `*b*`, 256 characters', stars(60, 'b*'), 'a'.repeat(256), { regex: false }],
];

/** Nanoseconds per match: as many matches as fit in `ms` (at least one). */
function nanosPerMatch(matches, channel, ms) {
  let count = 0;
  const start = process.hrtime.bigint();
  const budget = BigInt(ms) * 1_000_000n;
  let elapsed = 0n;
  do {
    for (let index = 0; index < 64; index++) matches(channel);
    count += 64;
    elapsed = process.hrtime.bigint() - start;
  } while (elapsed < budget && count < 10_000_000);
  return Number(elapsed) / count;
}

/** One timed call, for the regular expression on patterns where a loop would take minutes. */
function nanosOnce(matches, channel) {
  const start = process.hrtime.bigint();
  matches(channel);
  return Number(process.hrtime.bigint() - start);
}

const startMachine = machineLine();
const rows = [];
for (const [label, pattern, channel, { regex = true } = {}] of CASES) {
  const linear = compileChannelPattern(pattern);
  const reference = regexChannelPattern(pattern);
  if (regex && linear(channel) !== reference(channel)) throw new Error(`results differ: ${label}`);
  const slowReference = pattern.startsWith('*a');
  const linearRuns = [];
  const regexRuns = [];
  for (let run = 0; run < opts.runs; run++) {
    linearRuns.push(nanosPerMatch(linear, channel, opts.ms));
    if (regex) {
      regexRuns.push(
        slowReference ? nanosOnce(reference, channel) : nanosPerMatch(reference, channel, opts.ms),
      );
    }
  }
  log(`${label} done`);
  const linearMedian = summary(linearRuns).median;
  rows.push([
    label,
    formatSummary(linearRuns),
    regex ? formatSummary(regexRuns) : 'not run',
    regex ? `${formatNumber(summary(regexRuns).median / linearMedian, 1)}×` : 'n/a',
  ]);
}

process.stdout.write(
  [
    '# Channel pattern matching: linear matcher against the regular expression',
    '',
    `\`${commandLine()}\`: ns per match, median (min – max) of ${opts.runs} runs; each run matches for ${opts.ms} ms (the regular expression on the star patterns: one call per run).`,
    '',
    markdownTable(
      ['case', 'linear matcher, ns', 'regular expression, ns', 'regex ÷ linear'],
      rows,
      ['left', 'right', 'right', 'right'],
    ),
    '',
    startMachine,
    machineLine(),
    '',
  ].join('\n'),
);
