// The anti-forgery tokens of the pages' forms.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { invalidForm } from '../errors.js';

/**
 * The anti-forgery token of a form (OWASP CSRF Prevention: an HMAC keyed by a secret only this
 * browser holds, its HttpOnly binding cookie, over what the form is for). Another site can make
 * the browser post, but cannot read the cookie or the page, so it cannot compute the token.
 */
export function formToken(binding: string, purpose: string): string {
  return createHmac('sha256', binding).update(purpose).digest('base64url');
}

export function checkFormToken(binding: string | undefined, purpose: string, presented: string | undefined): void {
  if (!binding || !presented) throw invalidForm();
  const expected = Buffer.from(formToken(binding, purpose));
  const given = Buffer.from(presented);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw invalidForm();
}
