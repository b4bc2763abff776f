import { describe, expect, it } from 'vitest';
import * as errors from './errors.js';

describe('the error catalogue', () => {
  it.each<[string, errors.ApiError, number, string]>([
    ['invalidRequest', errors.invalidRequest('x'), 400, 'invalid_request'],
    ['invalidClient', errors.invalidClient(true), 401, 'invalid_client'],
    ['invalidGrant', errors.invalidGrant('x'), 400, 'invalid_grant'],
    ['invalidToken', errors.invalidToken('x'), 401, 'invalid_token'],
    ['bearerTokenRequired', errors.bearerTokenRequired(), 401, 'invalid_token'],
    ['insufficientScope', errors.insufficientScope('openid'), 403, 'insufficient_scope'],
    ['insufficientRole', errors.insufficientRole('admin'), 403, 'insufficient_role'],
    ['notFound', errors.notFound('user'), 404, 'not_found'],
    ['accountTaken', errors.accountTaken(), 409, 'account_exists'],
    ['lastAdmin', errors.lastAdmin('delete'), 409, 'last_admin'],
    ['signupDisabled', errors.signupDisabled(), 403, 'signup_disabled'],
    ['invalidPassword', errors.invalidPassword('too short', 'min_length'), 400, 'invalid_password'],
    ['invalidResetToken', errors.invalidResetToken(), 400, 'invalid_reset_token'],
    ['incorrectPassword', errors.incorrectPassword(), 403, 'incorrect_password'],
    ['tooManyRequests', errors.tooManyRequests(0, 'slow down'), 429, 'too_many_requests'],
  ])('%s answers the status its code fixes', (_name, error, status, code) => {
    expect([error.status, error.code]).toEqual([status, code]);
  });

  it('refuses the HTTP message itself with 413 and 415, its body code staying invalid_request', () => {
    expect([errors.payloadTooLarge(16).status, errors.payloadTooLarge(16).code]).toEqual([413, 'invalid_request']);
    expect([errors.unsupportedMediaType().status, errors.unsupportedMediaType().code]).toEqual([415, 'invalid_request']);
  });

  it('gives a 429 a Retry-After of at least one second', () => {
    expect(errors.tooManyRequests(0, 'x').headers).toEqual({ 'Retry-After': '1' });
    expect(errors.tooManyRequests(42, 'x').headers).toEqual({ 'Retry-After': '42' });
  });
});
