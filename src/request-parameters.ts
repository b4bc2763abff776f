/**
 * The parameters of an OAuth request after the form or query was read and checked for repeats
 * (http/form.ts): the token endpoint's, the authorization endpoint's, the end-session endpoint's.
 */
export interface TokenParams {
  get(name: string): string | undefined;
  getAll(name: string): string[];
}
