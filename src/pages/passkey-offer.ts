import { html } from 'hono/html';
import { text } from './page-text.js';

/** What a page needs to offer a passkey: the options for the browser, and the form's token. */
export interface PasskeyOffer {
  requestId: string;
  csrf: string;
  /** PublicKeyCredentialRequestOptionsJSON, as JSON. */
  options: string;
  /** Offer passkeys in the username field's autofill too (the login page). */
  autofill: boolean;
}

/**
 * The passkey button and the form /pages/passkey.js posts the answer in, before or after the page's
 * own form (with "or" between). Hidden until the script runs: without it the page is the same as
 * without passkeys.
 */
export function passkeyOffer(offer: PasskeyOffer | undefined, label: string, place: 'before' | 'after' = 'before') {
  if (!offer) return '';
  const or = html`<p class="or">${text.orDivider}</p>`;
  return html`<div class="passkey" id="passkey" hidden>
      ${place === 'after' ? or : ''}
      <form
        method="post"
        action="/authorize/passkey"
        id="passkey-form"
        data-options="${offer.options}"
        data-autofill="${String(offer.autofill)}"
      >
        <input type="hidden" name="request" value="${offer.requestId}" />
        <input type="hidden" name="csrf" value="${offer.csrf}" />
        <input type="hidden" name="credential" value="" />
        <button type="button" id="passkey-button" class="secondary">${label}</button>
      </form>
      <p class="error" role="alert" id="passkey-error" hidden>${text.passkeyFailed}</p>
      ${place === 'before' ? or : ''}
    </div>
    <script src="/pages/passkey.js" defer></script>`;
}
