import { html } from 'hono/html';
import type { FactorSummary } from '../factors/second-factors.js';
import { errorNotice, layout, type PageBranding } from './layout.js';
import { text } from './page-text.js';
import { hiddenInputs } from './second-factor-pages.js';

export interface AccountHomeModel {
  username: string;
  fullName: string | null;
  email: string;
  factors: FactorSummary[];
  recoveryCodesLeft: number;
  sessions: { id: string; label: string; lastSeenAt: Date; current: boolean }[];
  apps: { clientId: string; clientName: string; scopes: string[] }[];
  /** The user's API keys not revoked, never the key itself. */
  apiKeys: { id: string; name: string; scopes: string[]; expiresAt: Date; lastUsedAt: Date | null }[];
  /** Upstream providers: linked (with the upstream email) or not, and the link to link one. */
  providers: { name: string; displayName: string; linkedAs: string | undefined; linkHref: string }[];
  /** The anti-forgery token of each form, by what it does. */
  csrf: (action: string) => string;
  notice?: string | undefined;
  error?: string | undefined;
}

const day = (date: Date) => date.toISOString().slice(0, 10);

/**
 * The account page: profile, password, sign-in methods, where the user is signed in, connected
 * apps. Every form posts to /account/… with its own anti-forgery token; no script (the passkey page
 * has the one script).
 */
export function accountHomePage(branding: PageBranding, model: AccountHomeModel) {
  const form = (action: string, body: unknown, extra: Record<string, string> = {}) =>
    html`<form method="post" action="/account/${action}">${hiddenInputs({ csrf: model.csrf(action), ...extra })}${body}</form>`;
  return layout(
    branding,
    text.accountTitle,
    html`<h1>${text.accountTitle}</h1>
      <p class="muted">${text.accountSignedInAs(model.username)} <a href="/session/end">${text.signOutLink}</a></p>
      ${model.notice ? html`<p class="notice" role="status">${model.notice}</p>` : ''} ${errorNotice(model.error)}

      <h2>${text.profileHeading}</h2>
      ${form(
        'profile',
        html`<label for="full_name">${text.fullNameShortLabel}</label>
          <input type="text" id="full_name" name="full_name" autocomplete="name" value="${model.fullName ?? ''}" />
          <p class="muted">${text.emailLabel}: ${model.email}</p>
          <div class="actions"><button type="submit" class="secondary">${text.saveButton}</button></div>`,
      )}

      <h2>${text.methodsHeading}</h2>
      ${model.factors.length === 0 ? html`<p class="muted">${text.methodsNone}</p>` : ''}
      <ul class="items">
        ${model.factors.map(
          (factor) =>
            html`<li>
              <span><strong>${factor.name}</strong> · ${text.methodKind[factor.kind]}</span>
              <span class="muted"
                >${text.addedOn(day(factor.createdAt))}, ${factor.lastUsedAt ? text.lastUsed(day(factor.lastUsedAt)) : text.neverUsed}</span
              >
              ${form('factors/remove', html`<button type="submit" class="secondary small">${text.removeButton}</button>`, { factor: factor.id })}
            </li>`,
        )}
      </ul>
      ${model.factors.length > 0 ? html`<p class="muted">${text.recoveryCodesLeft(model.recoveryCodesLeft)}</p>` : ''}
      <p class="links">
        <a href="/account/passkey">${text.addPasskeyButton}</a> · <a href="/account/authenticator">${text.addAppButton}</a>
      </p>
      ${
        model.factors.length > 0
          ? form(
              'recovery-codes',
              html`<div class="actions"><button type="submit" class="secondary">${text.newRecoveryCodesButton}</button></div>`,
            )
          : ''
      }
      ${
        model.providers.length > 0
          ? html`<h2>${text.providersHeading}</h2>
              <ul class="items">
                ${model.providers.map((provider) =>
                  provider.linkedAs === undefined
                    ? html`<li><a class="button secondary" href="${provider.linkHref}">${text.linkButton(provider.displayName)}</a></li>`
                    : html`<li>
                        <span><strong>${provider.displayName}</strong></span>
                        <span class="muted">${text.linkedAs(provider.linkedAs || null)}</span>
                        ${form('providers/unlink', html`<button type="submit" class="secondary small">${text.unlinkButton}</button>`, {
                          provider: provider.name,
                        })}
                      </li>`,
                )}
              </ul>`
          : ''
      }

      <h2>${text.passwordHeading}</h2>
      ${form(
        'password',
        html`<input type="text" name="username" autocomplete="username" value="${model.username}" hidden />
          <label for="current_password">${text.currentPasswordLabel}</label>
          <input type="password" id="current_password" name="current_password" autocomplete="current-password" required />
          <label for="new_password">${text.newPasswordLabel}</label>
          <input type="password" id="new_password" name="new_password" autocomplete="new-password" required />
          <div class="actions"><button type="submit" class="secondary">${text.changePasswordButton}</button></div>`,
      )}

      <h2>${text.sessionsHeading}</h2>
      <ul class="items">
        ${model.sessions.map(
          (session) =>
            html`<li>
              <span><strong>${session.current ? text.sessionThisBrowser : session.label}</strong></span>
              <span class="muted">${text.sessionSeen(day(session.lastSeenAt))}</span>
              ${
                session.current
                  ? ''
                  : form('sessions/end', html`<button type="submit" class="secondary small">${text.signOutButton}</button>`, {
                      session: session.id,
                    })
              }
            </li>`,
        )}
      </ul>

      <h2>${text.appsHeading}</h2>
      ${model.apps.length === 0 ? html`<p class="muted">${text.appsNone}</p>` : ''}
      <ul class="items">
        ${model.apps.map(
          (app) =>
            html`<li>
              <span><strong>${app.clientName}</strong></span>
              <span class="muted">${app.scopes.join(' ')}</span>
              ${form('apps/withdraw', html`<button type="submit" class="secondary small">${text.withdrawButton}</button>`, {
                client: app.clientId,
              })}
            </li>`,
        )}
      </ul>

      <h2>${text.apiKeysHeading}</h2>
      <p class="muted">${text.apiKeysIntro}</p>
      ${model.apiKeys.length === 0 ? html`<p class="muted">${text.apiKeysNone}</p>` : ''}
      <ul class="items">
        ${model.apiKeys.map(
          (key) =>
            html`<li>
              <span><strong>${key.name}</strong> · ${text.apiKeyScopes(key.scopes)}</span>
              <span class="muted"
                >${text.apiKeyExpires(day(key.expiresAt))}, ${key.lastUsedAt ? text.lastUsed(day(key.lastUsedAt)) : text.neverUsed}</span
              >
              ${form('api-keys/revoke', html`<button type="submit" class="secondary small">${text.revokeButton}</button>`, { key: key.id })}
            </li>`,
        )}
      </ul>
      ${form(
        'api-keys',
        html`<label for="key_name">${text.apiKeyNameLabel}</label>
          <input type="text" id="key_name" name="name" maxlength="100" autocomplete="off" required />
          <label for="key_scopes">${text.apiKeyScopesLabel}</label>
          <input type="text" id="key_scopes" name="scopes" autocomplete="off" spellcheck="false" />
          <label for="key_audience">${text.apiKeyAudienceLabel}</label>
          <input type="url" id="key_audience" name="audience" autocomplete="off" required />
          <label for="key_lifetime">${text.apiKeyLifetimeLabel}</label>
          <select id="key_lifetime" name="expires_in">
            ${Object.entries(text.apiKeyLifetimes).map(
              ([seconds, label]) => html`<option value="${seconds}" ${seconds === '7776000' ? 'selected' : ''}>${label}</option>`,
            )}
          </select>
          <div class="actions"><button type="submit" class="secondary">${text.createApiKeyButton}</button></div>`,
      )}`,
  );
}

/** A new API key, this once. */
export function apiKeyCreatedPage(branding: PageBranding, model: { name: string; key: string }) {
  return layout(
    branding,
    text.apiKeyCreatedTitle,
    html`<h1>${text.apiKeyCreatedTitle}</h1>
      <p class="muted">${text.apiKeyCreatedIntro}</p>
      <p><strong>${model.name}</strong></p>
      <ul class="codes">
        <li><code>${model.key}</code></li>
      </ul>
      <p class="links"><a href="/account">${text.backToAccount}</a></p>`,
  );
}

/** Adding a passkey: a name, and a button the page's script answers with the browser's new credential. */
export function addPasskeyPage(branding: PageBranding, model: { csrf: string; options: string; error?: string | undefined }) {
  return layout(
    branding,
    text.passkeyTitle,
    html`<h1>${text.passkeyTitle}</h1>
      <p class="muted">${text.passkeyIntro}</p>
      ${errorNotice(model.error)}
      <form method="post" action="/account/passkey" id="passkey-register-form" data-options="${model.options}">
        ${hiddenInputs({ csrf: model.csrf, credential: '' })}
        <label for="name">${text.passkeyNameLabel}</label>
        <input type="text" id="name" name="name" maxlength="64" autocomplete="off" value="Passkey" />
        <div class="actions"><button type="button" id="passkey-create">${text.createPasskeyButton}</button></div>
      </form>
      <p class="error" role="alert" id="passkey-error" hidden>${text.passkeyNotCreated}</p>
      <p class="links"><a href="/account">${text.accountTitle}</a></p>
      <script src="/pages/passkey.js" defer></script>`,
  );
}
