#!/usr/bin/env node
// Summarises a V8 CPU profile (`node --cpu-prof`) as text: the functions with the most self time
// and their share of all samples; with `--under <function>`, the call tree below that function
// (inclusive and self shares, the calls of one function merged).
//
//   node bench/lib/cpu-profile-summary.mjs <file.cpuprofile> [--top 30]
//                                          [--under onMessage] [--depth 8] [--min 0.1]
//
// Server children of the benchmarks are profiled with
//   BENCH_SERVER_EXEC_ARGV="--cpu-prof --cpu-prof-interval=100 --cpu-prof-dir=<dir>" node bench/….mjs
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { parseArgs } from 'node:util';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    top: { type: 'string', default: '30' },
    under: { type: 'string' },
    depth: { type: 'string', default: '8' },
    min: { type: 'string', default: '0.1' },
  },
});
const profile = JSON.parse(readFileSync(positionals[0], 'utf8'));
const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
const selfCount = new Map();
for (const id of profile.samples) selfCount.set(id, (selfCount.get(id) ?? 0) + 1);
const total = profile.samples.length;
const percent = (count) => ((100 * count) / total).toFixed(1);

const where = ({ url, lineNumber }) => {
  if (!url) return '';
  const path = url.replace(/^file:\/\//, '');
  const short = path.includes('node_modules/')
    ? path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length)
    : relative(process.cwd(), path);
  return `${short}:${lineNumber + 1}`;
};
const nameOf = ({ callFrame }) => callFrame.functionName || '(anonymous)';

const lines = [
  `${total} samples (${((profile.endTime - profile.startTime) / 1e6).toFixed(1)} s)`,
  '',
];

if (values.under === undefined) {
  const self = new Map();
  for (const [id, count] of selfCount) {
    const node = nodes.get(id);
    const key = `${nameOf(node)}\u0000${where(node.callFrame)}`;
    self.set(key, (self.get(key) ?? 0) + count);
  }
  lines.push('| self % | function | where |', '| ---: | --- | --- |');
  for (const [key, count] of [...self].sort((a, b) => b[1] - a[1]).slice(0, Number(values.top))) {
    const [name, at] = key.split('\u0000');
    lines.push(`| ${percent(count)} | \`${name}\` | ${at} |`);
  }
} else {
  const inclusive = new Map();
  const inclusiveOf = (node) => {
    let count = inclusive.get(node.id);
    if (count === undefined) {
      count = selfCount.get(node.id) ?? 0;
      for (const child of node.children ?? []) count += inclusiveOf(nodes.get(child));
      inclusive.set(node.id, count);
    }
    return count;
  };
  const parent = new Map();
  for (const node of profile.nodes)
    for (const child of node.children ?? []) parent.set(child, node);
  const isRoot = (node) => {
    if (nameOf(node) !== values.under) return false;
    for (let up = parent.get(node.id); up !== undefined; up = parent.get(up.id)) {
      if (nameOf(up) === values.under) return false;
    }
    return true;
  };
  const print = (group, depth) => {
    const merged = new Map();
    for (const node of group) {
      const key = `${nameOf(node)} ${where(node.callFrame)}`;
      const entry = merged.get(key) ?? { inclusive: 0, self: 0, children: [] };
      entry.inclusive += inclusiveOf(node);
      entry.self += selfCount.get(node.id) ?? 0;
      entry.children.push(...(node.children ?? []).map((child) => nodes.get(child)));
      merged.set(key, entry);
    }
    for (const [key, entry] of [...merged].sort((a, b) => b[1].inclusive - a[1].inclusive)) {
      if ((100 * entry.inclusive) / total < Number(values.min)) continue;
      lines.push(
        `${'  '.repeat(depth)}${percent(entry.inclusive)} % (self ${percent(entry.self)} %) ${key}`,
      );
      if (depth < Number(values.depth)) print(entry.children, depth + 1);
    }
  };
  lines.push(`Below \`${values.under}\`, % of all samples: inclusive (self)`, '', '```');
  print(profile.nodes.filter(isRoot), 0);
  lines.push('```');
}
process.stdout.write(`${lines.join('\n')}\n`);
