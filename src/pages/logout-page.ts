import { html } from 'hono/html';
import { layout, type PageBranding } from './layout.js';
import { text } from './page-text.js';

export interface LogoutPageModel {
  csrf: string;
  clientName: string | undefined;
  /** The request's parameters, posted back with the answer. */
  carried: Record<string, string>;
}

/** "Sign out?": a logout not proven by an id_token_hint needs the user's own click. */
export function logoutPage(branding: PageBranding, model: LogoutPageModel) {
  return layout(
    branding,
    text.logoutTitle,
    html`<h1>${text.logoutHeading}</h1>
      <p>${text.logoutQuestion(model.clientName)}</p>
      <form method="post" action="/session/end/confirm">
        <input type="hidden" name="csrf" value="${model.csrf}" />
        ${Object.entries(model.carried).map(([name, value]) => html`<input type="hidden" name="${name}" value="${value}" />`)}
        <div class="actions">
          <button type="submit" name="decision" value="logout">${text.logoutButton}</button>
          <button type="submit" name="decision" value="stay" class="secondary">${text.stayButton}</button>
        </div>
      </form>`,
  );
}
