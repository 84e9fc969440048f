import { describe, expect, it } from 'vitest';
import { expandEnv } from './env-expansion.ts';

const env = { TOKEN: 's3cr3t', PORT: '4317', EMPTY: '' };

describe('expandEnv', () => {
  it('expands ${env:NAME} and ${NAME} in whole values and inside longer strings', () => {
    const { value, problems } = expandEnv(
      { a: '${env:TOKEN}', b: 'Bearer ${TOKEN}', c: 'host:${env:PORT}', list: ['${env:PORT}', 7], n: 1, t: true, z: null },
      env,
    );
    expect(problems).toEqual([]);
    expect(value).toEqual({ a: 's3cr3t', b: 'Bearer s3cr3t', c: 'host:4317', list: ['4317', 7], n: 1, t: true, z: null });
  });

  it('keeps expanded values as text (a token keeps its exact characters)', () => {
    expect(expandEnv({ token: '${env:T}' }, { T: '007' }).value).toEqual({ token: '007' });
  });

  it('makes $$ a literal $ and leaves a lone $ alone', () => {
    const { value } = expandEnv({ a: 'price: $$5', b: '$${env:TOKEN}', c: 'a$b', d: 'end$' }, env);
    expect(value).toEqual({ a: 'price: $5', b: '${env:TOKEN}', c: 'a$b', d: 'end$' });
  });

  it('expands an unset variable to the empty string (otelcol behaviour), or to its :- fallback', () => {
    const { value, problems } = expandEnv({ a: '${env:NOPE}', b: 'x${NOPE}y', c: '${env:NOPE:-fallback}', d: '${env:EMPTY:-used}', e: '${env:TOKEN:-unused}' }, env);
    expect(problems).toEqual([]);
    expect(value).toEqual({ a: '', b: 'xy', c: 'fallback', d: 'used', e: 's3cr3t' });
  });

  it('does not expand keys', () => {
    expect(expandEnv({ '${env:TOKEN}': 'v' }, env).value).toEqual({ '${env:TOKEN}': 'v' });
  });

  it('reports other providers, bad names and unterminated references with their key', () => {
    const { problems } = expandEnv({ exporters: { otlp: { headers: { a: '${file:/etc/token}', b: '${env:1BAD}', c: 'x ${env:OPEN' } } } }, env);
    expect(problems).toEqual([
      'exporters.otlp.headers.a: unsupported config provider "file" in "${file:/etc/token}" (Spanring expands only ${env:NAME} and ${NAME})',
      'exporters.otlp.headers.b: invalid environment variable name "1BAD" in "${env:1BAD}"',
      'exporters.otlp.headers.c: unterminated "${" in "x ${env:OPEN" (write $$ for a literal $)',
    ]);
  });
});
