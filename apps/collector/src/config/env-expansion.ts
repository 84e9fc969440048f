/**
 * otelcol's environment expansion, applied to every string value after YAML parsing (keys are
 * never expanded, as in otelcol):
 * - `${env:NAME}` and `${NAME}` are replaced by the variable's value, anywhere in a string;
 * - `${env:NAME:-fallback}` uses `fallback` when NAME is unset or empty (otelcol's syntax);
 * - `$$` is a literal `$`; a `$` followed by anything else stays as written;
 * - an unset variable expands to the empty string, as otelcol does (no error: a config may
 *   reference optional variables), so `endpoint: ${env:UNSET}` fails later as an empty endpoint.
 * Other otelcol providers (`${file:…}`, `${http:…}`, `${yaml:…}`) are reported, not silently kept.
 *
 * Expanded values stay strings, even when the whole value is one reference (`port: ${env:PORT}`):
 * a header `${env:TOKEN}` must keep TOKEN's exact text. Numeric and boolean keys accept such
 * strings instead (see collector-config.ts), which is what otelcol's typed decoding achieves.
 */

import { formatPath } from './config-error.ts';

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export interface ExpansionResult {
  readonly value: unknown;
  /** "key.path: message" for each reference that cannot be expanded. */
  readonly problems: readonly string[];
}

export function expandEnv(document: unknown, env: NodeJS.ProcessEnv): ExpansionResult {
  const problems: string[] = [];
  const value = walk(document, [], env, problems);
  return { value, problems };
}

function walk(value: unknown, path: readonly (string | number)[], env: NodeJS.ProcessEnv, problems: string[]): unknown {
  if (typeof value === 'string') return expandString(value, path, env, problems);
  if (Array.isArray(value)) return value.map((item, index) => walk(item, [...path, index], env, problems));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      Object.defineProperty(out, key, { value: walk(item, [...path, key], env, problems), enumerable: true, writable: true, configurable: true });
    }
    return out;
  }
  return value;
}

function expandString(text: string, path: readonly (string | number)[], env: NodeJS.ProcessEnv, problems: string[]): string {
  if (!text.includes('$')) return text;
  let out = '';
  let index = 0;
  while (index < text.length) {
    const dollar = text.indexOf('$', index);
    if (dollar === -1) {
      out += text.slice(index);
      break;
    }
    out += text.slice(index, dollar);
    const next = text[dollar + 1];
    if (next === '$') {
      out += '$';
      index = dollar + 2;
    } else if (next === '{') {
      const close = text.indexOf('}', dollar + 2);
      if (close === -1) {
        problems.push(`${formatPath(path)}: unterminated "\${" in ${JSON.stringify(text)} (write $$ for a literal $)`);
        return text;
      }
      const reference = text.slice(dollar + 2, close);
      const resolved = resolve(reference, env);
      if (typeof resolved === 'object') {
        problems.push(`${formatPath(path)}: ${resolved.problem}`);
        return text;
      }
      out += resolved;
      index = close + 1;
    } else {
      out += '$';
      index = dollar + 1;
    }
  }
  return out;
}

function resolve(reference: string, env: NodeJS.ProcessEnv): string | { problem: string } {
  const colon = reference.indexOf(':');
  const provider = colon === -1 ? undefined : reference.slice(0, colon);
  if (provider !== undefined && provider !== 'env') {
    return { problem: `unsupported config provider "${provider}" in "\${${reference}}" (Spanring expands only \${env:NAME} and \${NAME})` };
  }
  const body = provider === undefined ? reference : reference.slice(colon + 1);
  const fallbackAt = body.indexOf(':-');
  const name = fallbackAt === -1 ? body : body.slice(0, fallbackAt);
  if (!NAME.test(name)) {
    return { problem: `invalid environment variable name ${JSON.stringify(name)} in "\${${reference}}"` };
  }
  const value = env[name];
  if (fallbackAt !== -1 && (value === undefined || value === '')) return body.slice(fallbackAt + 2);
  return value ?? '';
}
