import { describe, expect, it } from 'vitest';
import { checkPasswordPolicy } from './password-policy.js';

const account = { username: 'alice', email: 'alice@example.com' };
const policy = { minLength: 15, maxLength: 128 };

async function ruleBroken(password: string): Promise<string | undefined> {
  try {
    await checkPasswordPolicy(password, account, policy);
    return undefined;
  } catch (error) {
    return /\(rule: (\w+)\)$/.exec((error as { description: string }).description)?.[1];
  }
}

describe('password policy (NIST SP 800-63B-4)', () => {
  it('accepts any long enough password, with no composition rules', async () => {
    expect(await ruleBroken('all lower case words here')).toBeUndefined();
    expect(await ruleBroken('x'.repeat(128))).toBeUndefined();
    expect(await ruleBroken('🔑'.repeat(15))).toBeUndefined(); // counted in characters, not bytes
  });

  it('names the rule a password breaks', async () => {
    expect(await ruleBroken('short')).toBe('min_length');
    expect(await ruleBroken('x'.repeat(129))).toBe('max_length');
    expect(await ruleBroken('ALICE@EXAMPLE.COM')).toBe('not_username_or_email');
    expect(await ruleBroken('123456789987654321')).toBe('not_common');
    expect(await ruleBroken('1QAZ2WSX3EDC4RFV')).toBe('not_common');
  });

  it('answers with a 400 invalid_password error', async () => {
    await expect(checkPasswordPolicy('short', account, policy)).rejects.toThrow(
      expect.objectContaining({ status: 400, code: 'invalid_password' }),
    );
  });

  it('honours a configured minimum', async () => {
    await expect(checkPasswordPolicy('tenletters', account, { minLength: 8, maxLength: 64 })).resolves.toBeUndefined();
  });
});
