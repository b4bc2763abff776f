import { html } from 'hono/html';
import { layout, type PageBranding } from './layout.js';

/** A page that only says something: an error the user cannot fix here, or "you are signed out". */
export function messagePage(branding: PageBranding, title: string, message: string, advice?: string) {
  return layout(
    branding,
    title,
    html`<h1>${title}</h1>
      <p role="${advice ? 'alert' : 'status'}">${message}</p>
      ${advice ? html`<p class="muted">${advice}</p>` : ''}`,
  );
}
