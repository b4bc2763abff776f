import { html } from 'hono/html';
import type { HtmlEscapedString } from 'hono/utils/html';
import { LANGUAGE } from './page-text.js';

export type PageBody = HtmlEscapedString | Promise<HtmlEscapedString>;

/** What every page shows: the issuer's name, from ISSUER_DISPLAY_NAME. */
export interface PageBranding {
  displayName: string;
}

/** The frame of every page: language, viewport, the one stylesheet, no script at all. */
export function layout(branding: PageBranding, title: string, body: PageBody): PageBody {
  return html`<!doctype html>
    <html lang="${LANGUAGE}">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="referrer" content="no-referrer" />
        <title>${title} · ${branding.displayName}</title>
        <link rel="stylesheet" href="/pages/style.css" />
      </head>
      <body>
        <main>
          <p class="brand">${branding.displayName}</p>
          ${body}
        </main>
      </body>
    </html>`;
}

/** An error said in text, near the form, and announced to screen readers. */
export function errorNotice(message: string | undefined): PageBody | string {
  return message ? html`<p class="error" role="alert" id="form-error">${message}</p>` : '';
}
