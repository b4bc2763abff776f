import { DrizzleQueryError } from 'drizzle-orm';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from './logger.js';
import { withoutQueryParameters } from './redaction.js';

const failed = () =>
  new DrizzleQueryError(
    'insert into clients (id, secret_hash) values ($1, $2)',
    ['id-1', 'digest-of-a-secret'],
    Object.assign(new Error('duplicate key'), { code: '23505' }),
  );

describe('withoutQueryParameters', () => {
  it('keeps the SQL and the cause but drops the bound values from message and stack', () => {
    const safe = withoutQueryParameters(failed()) as Error;
    expect(safe.message).toBe('Failed query: insert into clients (id, secret_hash) values ($1, $2)');
    expect(safe.stack).not.toContain('digest-of-a-secret');
    expect((safe.cause as { code: string }).code).toBe('23505');
  });

  it('leaves other errors alone', () => {
    const error = new Error('other');
    expect(withoutQueryParameters(error)).toBe(error);
  });

  it('is applied to every error the logger writes', () => {
    let written = '';
    const sink = new Writable({ write: (chunk, _encoding, done) => ((written += String(chunk)), done()) });
    createLogger('info', sink).error({ err: failed() }, 'unexpected error');
    expect(written).toContain('Failed query: insert into clients');
    expect(written).toContain('duplicate key');
    expect(written).not.toContain('digest-of-a-secret');
  });
});
