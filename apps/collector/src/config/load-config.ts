/**
 * Where the configuration comes from, in otelcol's order:
 * 1. the --config files, each a YAML map, deep-merged in order: maps merge key by key, the
 *    later file wins for everything else (lists are replaced, not concatenated); with no
 *    --config at all the embedded default (default-config.ts) is used instead, never merged in;
 * 2. each --set key.path=value, in order;
 * 3. environment expansion (${env:NAME}, ${NAME}, $$) in every string value;
 * 4. validation (collector-config.ts), then conversion to RuntimeConfig.
 * Steps 1–2 give the "effective" document that --print-config shows; it keeps ${env:…}
 * references as written, so secrets passed through the environment are not printed.
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml, parseAllDocuments } from 'yaml';
import type { CollectorConfig } from './collector-config.ts';
import { isMap, validateCollectorConfig } from './collector-config.ts';
import { ConfigError } from './config-error.ts';
import { DEFAULT_CONFIG_SOURCE, DEFAULT_CONFIG_YAML } from './default-config.ts';
import { expandEnv } from './env-expansion.ts';
import type { RuntimeConfig } from './runtime-config.ts';
import { toRuntimeConfig } from './to-runtime-config.ts';

export type ConfigDocument = Record<string, unknown>;

export interface ConfigSources {
  /** --config values, in order; empty means the embedded default. */
  readonly configFiles: readonly string[];
  /** --set values ("key.path=value"), in order. */
  readonly sets: readonly string[];
}

export interface LoadOptions extends ConfigSources {
  readonly env: NodeJS.ProcessEnv;
}

/** The whole chain: files (or the default), --set, env expansion, validation, RuntimeConfig. Throws ConfigError. */
export function loadRuntimeConfig(options: LoadOptions): RuntimeConfig {
  return toRuntimeConfig(resolveCollectorConfig(loadEffectiveConfig(options), options.env));
}

/** Files (or the embedded default) merged, then --set applied; not yet expanded or validated. Throws ConfigError. */
export function loadEffectiveConfig(sources: ConfigSources): ConfigDocument {
  const problems: string[] = [];
  let document: ConfigDocument = {};
  if (sources.configFiles.length === 0) {
    document = parseConfigText(DEFAULT_CONFIG_YAML, DEFAULT_CONFIG_SOURCE, problems) ?? {};
  }
  for (const file of sources.configFiles) {
    const parsed = readConfigFile(file, problems);
    if (parsed !== undefined) document = mergeConfigs(document, parsed);
  }
  for (const text of sources.sets) {
    const set = parseSetArgument(text, problems);
    if (set !== undefined) document = applySet(document, set, problems);
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return document;
}

/** Env expansion and validation of an effective document; every problem of both in one ConfigError. */
export function resolveCollectorConfig(document: ConfigDocument, env: NodeJS.ProcessEnv): CollectorConfig {
  const expanded = expandEnv(document, env);
  const problems = [...expanded.problems];
  let config: CollectorConfig | undefined;
  try {
    config = validateCollectorConfig(expanded.value);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    problems.push(...error.problems);
  }
  if (problems.length > 0 || config === undefined) throw new ConfigError(problems);
  return config;
}

/** otelcol's --config takes URIs; Spanring reads files (a bare path or file:path). */
const UNSUPPORTED_URI = /^(env|yaml|http|https|s3):/;

function readConfigFile(argument: string, problems: string[]): ConfigDocument | undefined {
  const unsupported = UNSUPPORTED_URI.exec(argument);
  if (unsupported !== null) {
    problems.push(
      `--config ${argument}: the "${unsupported[1]}:" config provider is not supported; give a file path (and use --set or \${env:NAME} inside the file for overrides)`,
    );
    return undefined;
  }
  const file = argument.startsWith('file:') ? argument.slice('file:'.length) : argument;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : error instanceof Error ? error.message : String(error);
    problems.push(`${file}: cannot read the config file: ${reason}`);
    return undefined;
  }
  return parseConfigText(text, file, problems);
}

/** One YAML document whose top level is a map (an empty file is an empty map). */
export function parseConfigText(text: string, source: string, problems: string[]): ConfigDocument | undefined {
  // merge: go-yaml (otelcol) honours "<<" merge keys; uniqueKeys: a repeated key is a mistake, not an override.
  const documents = parseAllDocuments(text, { merge: true, uniqueKeys: true, prettyErrors: true });
  if (!Array.isArray(documents) || documents.length === 0) return {};
  if (documents.length > 1) {
    problems.push(`${source}: holds ${documents.length} YAML documents (separated by ---); a config file is one document`);
    return undefined;
  }
  const document = documents[0]!;
  if (document.errors.length > 0) {
    for (const error of document.errors) problems.push(`${source}: invalid YAML: ${firstLine(error.message)}`);
    return undefined;
  }
  let value: unknown;
  try {
    value = document.toJS({ maxAliasCount: 1_000 });
  } catch (error) {
    // Alias and merge-key errors surface only here (e.g. "<<" on something that is not a map).
    problems.push(`${source}: invalid YAML: ${firstLine(error instanceof Error ? error.message : String(error))}`);
    return undefined;
  }
  if (value === null || value === undefined) return {};
  if (!isMap(value)) {
    problems.push(`${source}: the top level must be a map of sections (receivers, exporters, service, …)`);
    return undefined;
  }
  return value;
}

/** Deep merge: maps key by key, anything else replaced by the overlay (lists included). */
export function mergeConfigs(base: ConfigDocument, overlay: ConfigDocument): ConfigDocument {
  return mergeValues(base, overlay) as ConfigDocument;
}

function mergeValues(base: unknown, overlay: unknown): unknown {
  if (isMap(base) && isMap(overlay)) {
    const out: ConfigDocument = {};
    for (const [key, value] of Object.entries(base)) setOwn(out, key, value);
    for (const [key, value] of Object.entries(overlay)) setOwn(out, key, Object.hasOwn(base, key) ? mergeValues(base[key], value) : value);
    return out;
  }
  // `exporters: { otlp: }` in a later file says "otlp, with defaults"; it adds nothing to an
  // otlp map an earlier file defined, so it must not erase it.
  if (overlay === null && isMap(base)) return base;
  return overlay;
}

export interface SetArgument {
  /** The argument as given, for messages. */
  readonly text: string;
  readonly path: readonly string[];
  readonly value: unknown;
}

/**
 * "key.path=value": the path split on dots (component ids contain "/" but never "."), the
 * value read as a YAML scalar ("2s", "42", "true") or a YAML flow list/map ("[debug]",
 * "{x-tenant: a}"). Anything else stays text, so "Bearer: abc" is a string, not a map.
 */
export function parseSetArgument(text: string, problems: string[]): SetArgument | undefined {
  const equals = text.indexOf('=');
  const key = equals === -1 ? '' : text.slice(0, equals);
  const path = key.split('.');
  if (equals === -1 || path.some((segment) => segment.trim() === '')) {
    problems.push(`--set ${text}: expected key.path=value, e.g. --set processors.batch.timeout=2s`);
    return undefined;
  }
  const raw = text.slice(equals + 1);
  const trimmed = raw.trim();
  let value: unknown = raw;
  try {
    const parsed: unknown = parseYaml(raw);
    const flow = trimmed.startsWith('[') || trimmed.startsWith('{');
    if (flow || parsed === null || typeof parsed !== 'object') value = parsed;
  } catch (error) {
    if (trimmed.startsWith('[') || trimmed.startsWith('{')) {
      problems.push(`--set ${text}: the value is not a valid YAML list or map: ${firstLine(error instanceof Error ? error.message : String(error))}`);
      return undefined;
    }
  }
  return { text, path, value };
}

/** Sets one key, creating the maps on the way; a scalar or list on the way is an error. */
export function applySet(document: ConfigDocument, set: SetArgument, problems: string[]): ConfigDocument {
  const root = structuredClone(document);
  let node: ConfigDocument = root;
  for (const [index, segment] of set.path.slice(0, -1).entries()) {
    const next = node[segment];
    if (next === undefined || next === null) {
      const created: ConfigDocument = {};
      setOwn(node, segment, created);
      node = created;
    } else if (isMap(next)) {
      node = next;
    } else {
      const at = set.path.slice(0, index + 1).join('.');
      problems.push(`--set ${set.text}: ${at} is ${Array.isArray(next) ? 'a list' : `the value ${JSON.stringify(next)}`}, not a map, so it has no key "${set.path[index + 1]}"`);
      return document;
    }
  }
  setOwn(node, set.path.at(-1)!, set.value);
  return root;
}

/** Assignment that also works for a key named "__proto__" (it stays data, never a prototype). */
function setOwn(target: ConfigDocument, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

function firstLine(text: string): string {
  return text.split('\n')[0]!.trim();
}
