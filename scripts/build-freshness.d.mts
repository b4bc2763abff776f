/** Whether dist/ of the issuer and of packages/verifier is at least as new as their sources. */
export function buildIsCurrent(root: string): boolean;
