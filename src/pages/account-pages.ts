import { html } from 'hono/html';
import { errorNotice, layout, type PageBranding } from './layout.js';
import { text } from './page-text.js';

/** The forms of the account pages carry these; `back` leads to the sign-in they came from. */
export interface FormModel {
  csrf: string;
  error?: string | undefined;
  /** The login page to go back to, when the user came from one. */
  back?: string | undefined;
}

const backLink = (back: string | undefined) => (back ? html`<p class="links"><a href="${back}">${text.backToSignIn}</a></p>` : '');

/** "Forgot your password?": an email address, and the same answer whether an account has it or not. */
export function forgotPage(branding: PageBranding, model: FormModel & { email?: string | undefined }) {
  return layout(
    branding,
    text.forgotTitle,
    html`<h1>${text.forgotTitle}</h1>
      <p class="muted">${text.forgotIntro}</p>
      ${errorNotice(model.error)}
      <form method="post" action="/account/forgot">
        <input type="hidden" name="csrf" value="${model.csrf}" />
        ${model.back ? html`<input type="hidden" name="back" value="${model.back}" />` : ''}
        <label for="email">${text.emailLabel}</label>
        <input type="email" id="email" name="email" autocomplete="email" required value="${model.email ?? ''}" />
        <div class="actions"><button type="submit">${text.forgotButton}</button></div>
      </form>
      ${backLink(model.back)}`,
  );
}

/**
 * The page the reset mail links to (PASSWORD_RESET_URL): the token travels in the link's fragment,
 * which no server sees; /pages/reset-link.js copies it into the form. Without JavaScript the code
 * can be pasted.
 */
export function resetPage(branding: PageBranding, model: FormModel & { token?: string | undefined }) {
  return layout(
    branding,
    text.resetTitle,
    html`<h1>${text.resetTitle}</h1>
      ${errorNotice(model.error)}
      <form method="post" action="/account/reset">
        <input type="hidden" name="csrf" value="${model.csrf}" />
        ${model.back ? html`<input type="hidden" name="back" value="${model.back}" />` : ''}
        <label for="token">${text.resetCodeLabel}</label>
        <input type="text" id="token" name="token" autocomplete="off" spellcheck="false" required value="${model.token ?? ''}" />
        <label for="new_password">${text.newPasswordLabel}</label>
        <input type="password" id="new_password" name="new_password" autocomplete="new-password" required />
        <div class="actions"><button type="submit">${text.resetButton}</button></div>
      </form>
      <script src="/pages/reset-link.js"></script>`,
  );
}

export function signupPage(
  branding: PageBranding,
  model: FormModel & { minLength: number; username?: string | undefined; email?: string | undefined; fullName?: string | undefined },
) {
  return layout(
    branding,
    text.signupTitle,
    html`<h1>${text.signupTitle}</h1>
      ${errorNotice(model.error)}
      <form method="post" action="/account/signup">
        <input type="hidden" name="csrf" value="${model.csrf}" />
        ${model.back ? html`<input type="hidden" name="back" value="${model.back}" />` : ''}
        <label for="username">${text.usernameOnlyLabel}</label>
        <input
          type="text"
          id="username"
          name="username"
          autocomplete="username"
          autocapitalize="none"
          spellcheck="false"
          required
          value="${model.username ?? ''}"
        />
        <label for="email">${text.emailLabel}</label>
        <input type="email" id="email" name="email" autocomplete="email" required value="${model.email ?? ''}" />
        <label for="full_name">${text.fullNameLabel}</label>
        <input type="text" id="full_name" name="full_name" autocomplete="name" value="${model.fullName ?? ''}" />
        <label for="password">${text.passwordLabel}</label>
        <input type="password" id="password" name="password" autocomplete="new-password" required aria-describedby="password-rule" />
        <p class="muted" id="password-rule">${text.passwordRule(model.minLength)}</p>
        <div class="actions"><button type="submit">${text.signupButton}</button></div>
      </form>
      ${backLink(model.back)}`,
  );
}

/**
 * A form's outcome, with the way back to the sign-in it came from; a page reached without one (a
 * bookmark, a mail opened later) says where signing in happens instead.
 */
export function donePage(branding: PageBranding, title: string, message: string, back: string | undefined) {
  return layout(
    branding,
    title,
    html`<h1>${title}</h1>
      <p role="status">${message}</p>
      ${back ? backLink(back) : html`<p class="muted">${text.returnToApp}</p>`}`,
  );
}

/** Moves the reset token from the link's fragment into the form, and out of the address bar. */
export const RESET_LINK_SCRIPT = `(function () {
  var match = /(?:^#|&)token=([^&]+)/.exec(window.location.hash);
  if (!match) return;
  document.getElementById('token').value = decodeURIComponent(match[1]);
  history.replaceState(null, '', window.location.pathname);
  document.getElementById('new_password').focus();
})();
`;
