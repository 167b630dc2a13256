#!/usr/bin/env node
// Writes the generated parts of docs/self-hosting.md from the built @metered/server: the config
// file reference (walked from the zod schema and its `.describe()` texts), the embedded
// development config, the `startServer` tuning options with their defaults, and the metrics
// (from the server's own Prometheus registry). Everything between a
// `<!-- generated:NAME -->` … `<!-- /generated:NAME -->` pair is replaced; the prose around
// it is kept. `--check` fails (exit 1) when the committed file is stale.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { format, resolveConfig } from 'prettier';

const root = fileURLToPath(new URL('..', import.meta.url));
const target = `${root}/docs/self-hosting.md`;
const server = await import(`${root}/apps/server/dist/index.js`);

// ── The config schema ──────────────────────────────────────────────────────────────────────
// The server validates with zod 3 (`zod` ^3.25, whose root export is the v3 API; its
// `z.toJSONSchema` exists only for v4 schemas), so the schema is walked through `_def`.

/** Peels defaults, optionals and refinements; keeps the outermost description. */
function unwrap(schema) {
  let current = schema;
  let description;
  let hasDefault = false;
  let defaultValue;
  let optional = false;
  for (;;) {
    description ??= current.description;
    const def = current._def;
    if (def.typeName === 'ZodDefault') {
      if (!hasDefault) defaultValue = def.defaultValue();
      hasDefault = true;
      current = def.innerType;
    } else if (def.typeName === 'ZodOptional') {
      optional = true;
      current = def.innerType;
    } else if (def.typeName === 'ZodEffects') {
      current = def.schema;
    } else {
      return { core: current, description, hasDefault, defaultValue, optional };
    }
  }
}

function bounds(checks, unit) {
  const parts = [];
  for (const check of checks ?? []) {
    if (check.kind === 'min') {
      if (check.inclusive === false) parts.push(`> ${check.value}`);
      else if (!(unit === 'characters' && check.value === 1)) parts.push(`≥ ${check.value}`);
    }
    if (check.kind === 'max') parts.push(`≤ ${check.value}`);
  }
  return parts.length === 0 ? '' : ` (${parts.join(', ')}${unit === 'characters' ? ' chars' : ''})`;
}

function typeText(schema) {
  const { core } = unwrap(schema);
  const def = core._def;
  switch (def.typeName) {
    case 'ZodString': {
      const regex = def.checks.find((check) => check.kind === 'regex');
      if (regex) return 'string (URL)';
      const nonEmpty = def.checks.some((check) => check.kind === 'min' && check.value === 1);
      return `${nonEmpty ? 'non-empty ' : ''}string${bounds(
        def.checks.filter((check) => !(check.kind === 'min' && check.value === 1)),
        'characters',
      )}`;
    }
    case 'ZodNumber': {
      const integer = def.checks.some((check) => check.kind === 'int');
      return `${integer ? 'integer' : 'number'}${bounds(def.checks)}`;
    }
    case 'ZodBoolean':
      return 'boolean';
    case 'ZodEnum':
      return `one of ${def.values.map((value) => `\`"${value}"\``).join(', ')}`;
    case 'ZodLiteral':
      return `\`"${def.value}"\``;
    case 'ZodArray': {
      const limits = [];
      if (def.minLength) limits.push(`at least ${def.minLength.value}`);
      if (def.maxLength) limits.push(`at most ${def.maxLength.value}`);
      const count = limits.length > 0 ? ` (${limits.join(', ')})` : '';
      const element = unwrap(def.type).core._def.typeName;
      if (element === 'ZodObject') return `array of objects${count}`;
      return `array${count}, each: ${typeText(def.type)}`;
    }
    case 'ZodUnion':
      return def.options.map((option) => typeText(option)).join(' or ');
    case 'ZodObject':
      return 'object';
    case 'ZodDiscriminatedUnion':
      return `object, by \`${def.discriminator}\``;
    default:
      throw new Error(`generate-config-docs: no text for ${def.typeName}`);
  }
}

function defaultText(info) {
  if (info.hasDefault) {
    const value = info.defaultValue;
    if (
      value !== null &&
      typeof value === 'object' &&
      !Array.isArray(value) &&
      Object.keys(value).length === 0
    )
      return 'every field’s default';
    return `\`${JSON.stringify(value)}\``;
  }
  return info.optional ? '—' : '**required**';
}

function escapeCell(text) {
  return text.replaceAll('|', '\\|').replaceAll('\n', ' ');
}

/** Rows of one table per object, depth first: `{ heading, description, rows }`. */
function sections(schema, path, heading, sectionDescription, out, note = '') {
  const { core } = unwrap(schema);
  const def = core._def;
  const rows = [];
  const nested = [];
  const shape = def.shape();
  for (const [key, field] of Object.entries(shape)) {
    const info = unwrap(field);
    const fieldPath = path === '' ? key : `${path}.${key}`;
    if (!info.description && !(info.core._def.typeName === 'ZodLiteral')) {
      throw new Error(`generate-config-docs: ${fieldPath} has no .describe() text in config.ts`);
    }
    rows.push({
      field: fieldPath,
      type: typeText(field),
      default: defaultText(info),
      description: info.description ?? 'Selects this variant.',
    });
    const innerDef = info.core._def;
    if (innerDef.typeName === 'ZodObject') {
      nested.push([info.core, fieldPath, fieldPath, info.description]);
    } else if (innerDef.typeName === 'ZodArray') {
      const element = unwrap(innerDef.type);
      if (element.core._def.typeName === 'ZodObject') {
        nested.push([
          element.core,
          `${fieldPath}[]`,
          `${fieldPath}[]`,
          element.core.description ?? info.description,
        ]);
      }
    } else if (innerDef.typeName === 'ZodDiscriminatedUnion') {
      for (const option of innerDef.options) {
        const kind = option._def.shape()[innerDef.discriminator]._def.value;
        nested.push([
          option,
          fieldPath,
          `${fieldPath} with \`${innerDef.discriminator}: "${kind}"\``,
          option.description,
        ]);
      }
    }
  }
  out.push({ heading, description: sectionDescription, rows, note });
  for (const [childSchema, childPath, childHeading, childDescription] of nested) {
    sections(childSchema, childPath, childHeading, childDescription, out);
  }
  return out;
}

function renderConfigReference() {
  const lines = [];
  for (const section of sections(
    server.serverConfigSchema,
    '',
    'The file',
    'The top level. Unknown fields are errors at every level.',
    [],
  )) {
    lines.push(`#### ${section.heading}`, '');
    if (section.description) lines.push(section.description, '');
    lines.push('| field | type | default | meaning |', '| --- | --- | --- | --- |');
    for (const row of section.rows) {
      lines.push(
        `| \`${row.field}\` | ${escapeCell(row.type)} | ${escapeCell(row.default)} | ${escapeCell(row.description)} |`,
      );
    }
    lines.push('');
  }
  return lines.join('\n');
}

function renderDevConfig() {
  return ['```json', JSON.stringify(server.DEFAULT_CONFIG, null, 2), '```', ''].join('\n');
}

// ── startServer tuning options ─────────────────────────────────────────────────────────────
const TUNING = {
  shutdownRetryAfterMs:
    '`retryAfterMs` of the `going_away` frame sent to every socket on shutdown.',
  drainTimeoutMs:
    'How long a shutdown waits for the closing handshakes before it drops the remaining sockets.',
  maxOutboundBufferBytes:
    'A socket whose unsent bytes (`ws.bufferedAmount`) exceed this when a frame is due is a slow consumer: it leaves every channel and is closed with 1008.',
  heartbeatIntervalMs:
    'Interval of the WebSocket-level pings; a socket that answered neither the previous ping nor sent a frame since is dropped. 0 disables them.',
  restRequestsPerMinute:
    'REST requests per client address per minute; more are answered 429 with `Retry-After`.',
};

function renderTuning() {
  const keys = Object.keys(server.SERVER_DEFAULTS);
  const lines = ['| option | default | meaning |', '| --- | --- | --- |'];
  for (const key of keys) {
    // A new option is listed at once, with its default; its text belongs in TUNING.
    if (!(key in TUNING)) console.warn(`generate-config-docs: no text for SERVER_DEFAULTS.${key}`);
    const meaning = TUNING[key] ?? 'See the server README.';
    lines.push(`| \`${key}\` | \`${server.SERVER_DEFAULTS[key]}\` | ${escapeCell(meaning)} |`);
  }
  lines.push('');
  return lines.join('\n');
}

// ── Metrics ────────────────────────────────────────────────────────────────────────────────
async function renderMetrics() {
  const metrics = new server.ServerMetrics();
  const types = new Map(
    (await metrics.registry.getMetricsAsJSON()).map((metric) => [metric.name, metric.type]),
  );
  const lines = ['| metric | type | labels | meaning |', '| --- | --- | --- | --- |'];
  for (const metric of metrics.registry.getMetricsAsArray()) {
    const labels = metric.labelNames.map((label) => `\`${label}\``).join(', ') || '—';
    lines.push(
      `| \`${metric.name}\` | ${types.get(metric.name)} | ${labels} | ${escapeCell(metric.help)} |`,
    );
  }
  lines.push('');
  return lines.join('\n');
}

// ── Assembly ───────────────────────────────────────────────────────────────────────────────
const generated = {
  'config-reference': renderConfigReference(),
  'dev-config': renderDevConfig(),
  tuning: renderTuning(),
  metrics: await renderMetrics(),
};

function fill(text) {
  let result = text;
  for (const [name, body] of Object.entries(generated)) {
    const start = `<!-- generated:${name} -->`;
    const end = `<!-- /generated:${name} -->`;
    const from = result.indexOf(start);
    const to = result.indexOf(end);
    if (from === -1 || to === -1 || to < from) {
      throw new Error(`generate-config-docs: docs/self-hosting.md lacks ${start} … ${end}`);
    }
    result = `${result.slice(0, from + start.length)}\n\n<!-- Generated by scripts/generate-config-docs.mjs from @metered/server. Do not edit by hand. -->\n\n${body}\n${result.slice(to)}`;
  }
  return result;
}

const current = readFileSync(target, 'utf8');
const text = await format(fill(current), {
  ...(await resolveConfig(target)),
  parser: 'markdown',
});
if (process.argv.includes('--check')) {
  if (current !== text) {
    console.error(
      'docs/self-hosting.md is stale: run `node scripts/generate-config-docs.mjs` (after building @metered/server) and commit it.',
    );
    process.exit(1);
  }
  console.log('docs/self-hosting.md is up to date');
} else {
  writeFileSync(target, text);
  console.log(`wrote ${target}`);
}
