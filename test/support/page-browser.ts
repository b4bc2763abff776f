import { createHash, randomBytes } from 'node:crypto';

/** Anything that answers a Request like the app does: app.request in-process, or fetch over HTTP. */
type Send = (path: string, init: RequestInit) => Response | Promise<Response>;

/**
 * A browser without a rendering engine, for the pages' rules: it keeps cookies per name, follows
 * nothing by itself (each test looks at every redirect), and fills a form from the page's own
 * hidden fields. The real browser runs in test/e2e/sign-in-browser.e2e.test.ts.
 */
export function pageBrowser(send: Send) {
  const cookies = new Map<string, string>();

  function remember(response: Response) {
    for (const header of response.headers.getSetCookie()) {
      const [pair] = header.split(';');
      const [name, ...rest] = pair!.split('=');
      const value = rest.join('=');
      if (/max-age=0/i.test(header) || value === '') cookies.delete(name!.trim());
      else cookies.set(name!.trim(), value);
    }
    return response;
  }
  const cookieHeader = () => [...cookies].map(([name, value]) => `${name}=${value}`).join('; ');

  return {
    cookies,
    async get(path: string): Promise<Response> {
      return remember(await send(path, { headers: { Cookie: cookieHeader() } }));
    },
    async post(path: string, fields: Record<string, string>): Promise<Response> {
      return remember(
        await send(path, {
          method: 'POST',
          headers: { Cookie: cookieHeader(), 'Content-Type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams(fields).toString(),
        }),
      );
    },
  };
}

export type PageBrowser = ReturnType<typeof pageBrowser>;

const PASSKEY_FORM = /<form[^>]*id="passkey-form"[\s\S]*?<\/form>/;

/** The hidden fields of the page's form (not the passkey form), as the browser would send them. */
export function hiddenFields(page: string): Record<string, string> {
  return fieldsOf(page.replace(PASSKEY_FORM, ''));
}

/** The passkey form of a page: its hidden fields, and the options the page hands the browser. */
export function passkeyForm(page: string): { fields: Record<string, string>; options: Record<string, unknown> } | undefined {
  const form = PASSKEY_FORM.exec(page)?.[0];
  if (!form) return undefined;
  const options = /data-options="([^"]*)"/
    .exec(form)![1]!
    .replace(/&quot;/g, '"')
    .replace(/&amp;/g, '&');
  return { fields: fieldsOf(form), options: JSON.parse(options) as Record<string, unknown> };
}

function fieldsOf(page: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const match of page.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"/g)) {
    fields[match[1]!] = match[2]!
      .replace(/&amp;/g, '&')
      .replace(/&quot;/g, '"')
      .replace(/&#39;/g, "'")
      .replace(/&lt;/g, '<')
      .replace(/&gt;/g, '>');
  }
  return fields;
}

/** A PKCE pair (RFC 7636 §4.1, §4.2). */
export function pkcePair() {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}
