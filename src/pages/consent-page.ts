import { html } from 'hono/html';
import { layout, type PageBranding } from './layout.js';
import { describeScope, text } from './page-text.js';

export interface ConsentPageModel {
  requestId: string;
  csrf: string;
  clientName: string;
  userName: string;
  scopes: string[];
}

/** What a third-party client asks for, in words, with Allow and Deny. */
export function consentPage(branding: PageBranding, model: ConsentPageModel) {
  return layout(
    branding,
    text.consentTitle,
    html`<h1>${text.consentHeading(model.clientName)}</h1>
      <ul class="scopes">
        ${model.scopes.map((scope) => html`<li>${describeScope(scope)}<code>${scope}</code></li>`)}
      </ul>
      <p class="muted">${text.consentSignedInAs(model.userName)} ${text.consentNote}</p>
      <form method="post" action="/authorize/consent">
        <input type="hidden" name="request" value="${model.requestId}" />
        <input type="hidden" name="csrf" value="${model.csrf}" />
        <div class="actions">
          <button type="submit" name="decision" value="allow">${text.allowButton}</button>
          <button type="submit" name="decision" value="deny" class="secondary">${text.denyButton}</button>
        </div>
      </form>`,
  );
}
