import { html } from 'hono/html';
import { layout, type PageBranding } from './layout.js';
import { text } from './page-text.js';

/**
 * `GET /`: what a person who opens the issuer's address finds. Signing in starts at an
 * application, so the page says that and links to what can be done here without one.
 */
export function homePage(branding: PageBranding, options: { signupEnabled: boolean }) {
  const links: [href: string, label: string][] = [
    ...(options.signupEnabled ? ([['/account/signup', text.createAccount]] as [string, string][]) : []),
    ['/account/forgot', text.forgotPassword],
    ['/docs', text.apiDocs],
    ['/.well-known/openid-configuration', text.discoveryDocument],
  ];
  return layout(
    branding,
    text.homeTitle,
    html`<h1>${text.homeTitle}</h1>
      <p>${text.homeIntro(branding.displayName)}</p>
      <ul class="links">
        ${links.map(([href, label]) => html`<li><a href="${href}">${label}</a></li>`)}
      </ul>`,
  );
}
