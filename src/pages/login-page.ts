import { html } from 'hono/html';
import { errorNotice, layout, type PageBranding } from './layout.js';
import { text } from './page-text.js';
import { passkeyOffer, type PasskeyOffer } from './passkey-offer.js';

export interface LoginPageModel {
  requestId: string;
  csrf: string;
  clientName: string;
  username: string | undefined;
  error: string | undefined;
  signupEnabled: boolean;
  /** A passkey, instead of the username and password. */
  passkey?: PasskeyOffer | undefined;
  /** Upstream providers to sign in with: links, so no third-party script or image is loaded. */
  providers?: { displayName: string; href: string }[];
}

/** The login form: works without JavaScript; labels and autocomplete for password managers. */
export function loginPage(branding: PageBranding, model: LoginPageModel) {
  const described = model.error ? 'form-error' : undefined;
  return layout(
    branding,
    text.signInTitle,
    html`<h1>${text.signInHeading(model.clientName)}</h1>
      ${errorNotice(model.error)} ${passkeyOffer(model.passkey, text.passkeyButton)}
      <form method="post" action="/authorize/login" novalidate>
        <input type="hidden" name="request" value="${model.requestId}" />
        <input type="hidden" name="csrf" value="${model.csrf}" />
        <label for="username">${text.usernameLabel}</label>
        <input
          type="text"
          id="username"
          name="username"
          autocomplete="${model.passkey ? 'username webauthn' : 'username'}"
          autocapitalize="none"
          spellcheck="false"
          required
          value="${model.username ?? ''}"
          ${described ? html`aria-describedby="${described}"` : ''}
        />
        <label for="password">${text.passwordLabel}</label>
        <input type="password" id="password" name="password" autocomplete="current-password" required />
        <div class="actions"><button type="submit">${text.signInButton}</button></div>
      </form>
      ${
        model.providers && model.providers.length > 0
          ? html`<p class="or">${text.orDivider}</p>
              <ul class="providers">
                ${model.providers.map((provider) => html`<li><a class="button secondary" href="${provider.href}">${text.signInWith(provider.displayName)}</a></li>`)}
              </ul>`
          : ''
      }
      <p class="links">
        <a href="/account/forgot?request=${model.requestId}">${text.forgotPassword}</a>
        ${model.signupEnabled ? html` · <a href="/account/signup?request=${model.requestId}">${text.createAccount}</a>` : ''}
      </p>`,
  );
}
