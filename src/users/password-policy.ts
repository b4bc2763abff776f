import { invalidPassword, type PasswordRule } from '../errors.js';

export interface PasswordPolicy {
  minLength: number;
  maxLength: number;
}

/**
 * The ~49,000 most common passwords from zxcvbn-ts, compared case-insensitively. Loaded on the
 * first password set (about 15 MB), not by an instance that only issues tokens.
 */
let commonPasswords: Promise<Set<string>> | undefined;
const loadCommonPasswords = () =>
  (commonPasswords ??= import('@zxcvbn-ts/language-common').then(
    ({ dictionary }) => new Set((dictionary['passwords-common'] as string[]).map((word) => word.toLowerCase())),
  ));

const broken = (rule: PasswordRule, description: string) => invalidPassword(description, rule);

/**
 * NIST SP 800-63B-4 §3.1.1.2: length is what matters; no composition rules; refuse values that
 * are known to be common or that repeat the account's own identifiers. Length is counted in
 * characters after NFKC normalization, and nothing is ever truncated.
 */
export async function checkPasswordPolicy(
  password: string,
  account: { username: string; email: string },
  policy: PasswordPolicy,
): Promise<void> {
  const normalized = password.normalize('NFKC');
  const length = [...normalized].length;
  if (length < policy.minLength) {
    throw broken('min_length', `the password must be at least ${policy.minLength} characters long`);
  }
  if (length > policy.maxLength) {
    throw broken('max_length', `the password must be at most ${policy.maxLength} characters long`);
  }
  const lower = normalized.toLowerCase();
  if (lower === account.username.toLowerCase() || lower === account.email.toLowerCase()) {
    throw broken('not_username_or_email', 'the password must not be the username or the email address');
  }
  if ((await loadCommonPasswords()).has(lower)) {
    throw broken('not_common', 'the password is too common; choose another');
  }
}
