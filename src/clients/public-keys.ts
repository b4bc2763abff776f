import { z } from 'zod';

/** Public keys only (no `d`, no symmetric `k`), for asymmetric signatures; at most ten. */
export const publicJwks = z.object({
  keys: z
    .array(
      z
        .object({ kty: z.enum(['RSA', 'EC', 'OKP'], { error: 'kty must be RSA, EC or OKP' }) })
        .loose()
        .refine((key) => !('d' in key) && !('k' in key), 'a key must be public: no private or symmetric part'),
    )
    .min(1, 'at least one key is required')
    .max(10, 'at most 10 keys'),
});

/** Where keys are served from: https, or http on the loopback interface (development, tests). */
export function isServedUrl(value: string): boolean {
  if (!URL.canParse(value)) return false;
  const url = new URL(value);
  return url.protocol === 'https:' || (url.protocol === 'http:' && ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname));
}

export const SERVED_URL_RULE = 'an https URL (http only for localhost)';
