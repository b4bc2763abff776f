import { html, raw } from 'hono/html';
import { errorNotice, layout, type PageBranding } from './layout.js';
import { text } from './page-text.js';
import { passkeyOffer, type PasskeyOffer } from './passkey-offer.js';

export interface SecondFactorPageModel {
  requestId: string;
  csrf: string;
  error: string | undefined;
}

export interface CodePageModel extends SecondFactorPageModel {
  /** The user's passkeys, instead of a code. */
  passkey?: PasskeyOffer | undefined;
}

/**
 * The second step of a sign-in: one field for a code from an authenticator app or a recovery code,
 * `autocomplete="one-time-code"` so that browsers and password managers offer to fill it.
 */
export function secondFactorPage(branding: PageBranding, model: CodePageModel) {
  return layout(
    branding,
    text.secondFactorTitle,
    html`<h1>${text.secondFactorHeading}</h1>
      <p class="muted" id="code-help">${text.secondFactorIntro}</p>
      ${errorNotice(model.error)}
      <form method="post" action="/authorize/second-factor" novalidate>
        <input type="hidden" name="request" value="${model.requestId}" />
        <input type="hidden" name="csrf" value="${model.csrf}" />
        ${codeInput(model.error !== undefined)}
        <div class="actions"><button type="submit">${text.verifyButton}</button></div>
      </form>
      ${passkeyOffer(model.passkey, text.passkeyInsteadButton, 'after')}`,
  );
}

/** Where a page's form posts, and the hidden fields it carries (the request or purpose, the token). */
export interface PageForm {
  action: string;
  fields: Record<string, string>;
}

export interface EnrolPageModel {
  /** Why the app is added: a client asks for a second step, or the user chose to on the account page. */
  intro: string;
  form: PageForm;
  secret: string;
  /** The otpauth:// URI as an SVG QR code, made on the server (factors/qr-code.ts). */
  qrCodeSvg: string;
  error: string | undefined;
}

/** Adding an authenticator app, at sign-in or from the account page: QR code, the key in text, the first code. */
export function enrolPage(branding: PageBranding, model: EnrolPageModel) {
  return layout(
    branding,
    text.enrolTitle,
    html`<h1>${text.enrolTitle}</h1>
      <p class="muted" id="code-help">${model.intro}</p>
      <figure class="qr" role="img" aria-label="${text.qrCodeLabel}">${raw(model.qrCodeSvg)}</figure>
      <p class="muted">${text.secretLabel}: <code class="secret">${groupsOfFour(model.secret)}</code></p>
      ${errorNotice(model.error)}
      <form method="post" action="${model.form.action}" novalidate>
        ${hiddenInputs(model.form.fields)} ${codeInput(model.error !== undefined)}
        <div class="actions"><button type="submit">${text.enrolButton}</button></div>
      </form>`,
  );
}

/**
 * The recovery codes, shown once (after the first factor, or new ones): at sign-in a form goes on
 * with it; on the account page a link leads back.
 */
export function recoveryCodesPage(branding: PageBranding, model: { codes: string[]; next: PageForm | { href: string } }) {
  const { next } = model;
  return layout(
    branding,
    text.recoveryCodesTitle,
    html`<h1>${text.recoveryCodesTitle}</h1>
      <p class="muted">${text.recoveryCodesIntro}</p>
      <ul class="codes">
        ${model.codes.map((code) => html`<li><code>${code}</code></li>`)}
      </ul>
      ${
        'href' in next
          ? html`<p class="links"><a href="${next.href}">${text.backToAccount}</a></p>`
          : html`<form method="post" action="${next.action}">
              ${hiddenInputs(next.fields)}
              <div class="actions"><button type="submit">${text.continueButton}</button></div>
            </form>`
      }`,
  );
}

export function hiddenInputs(fields: Record<string, string>) {
  return Object.entries(fields).map(([name, value]) => html`<input type="hidden" name="${name}" value="${value}" />`);
}

function codeInput(invalid: boolean) {
  return html`<label for="code">${text.codeLabel}</label>
    <input
      type="text"
      id="code"
      name="code"
      inputmode="text"
      autocomplete="one-time-code"
      autocapitalize="none"
      spellcheck="false"
      required
      aria-describedby="${invalid ? 'form-error code-help' : 'code-help'}"
    />`;
}

const groupsOfFour = (secret: string) => secret.replace(/(.{4})(?=.)/g, '$1 ');
