/**
 * `token-issuer/verifier`, kept for services that imported it from this package: the same library
 * as `@token-issuer/verifier` (packages/verifier), which is what a downstream service installs.
 */
export * from '@token-issuer/verifier';
