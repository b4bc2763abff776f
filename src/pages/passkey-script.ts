/**
 * The one script of the sign-in pages (served at /pages/passkey.js, CSP `script-src 'self'`): it
 * asks the browser for a passkey with the options the page carries (WebAuthn Level 3's JSON
 * helpers), and posts the answer in a form, so the server answers with the same redirects as the
 * password form. On the login page it also offers passkeys in the username field's autofill
 * (conditional mediation). Without JavaScript, or without WebAuthn, the button stays hidden and
 * every other way of signing in works as before.
 */
export const PASSKEY_SCRIPT = `(function () {
  var form = document.getElementById('passkey-form');
  var pkc = window.PublicKeyCredential;
  if (!form || !pkc || !pkc.parseRequestOptionsFromJSON || !navigator.credentials) return;
  var options = JSON.parse(form.dataset.options);
  var pending = null;
  function ask(mediation) {
    if (pending) pending.abort();
    pending = new AbortController();
    var request = { publicKey: pkc.parseRequestOptionsFromJSON(options), signal: pending.signal };
    if (mediation) request.mediation = mediation;
    return navigator.credentials.get(request).then(function (credential) {
      if (!credential) return;
      form.elements.credential.value = JSON.stringify(credential.toJSON());
      form.submit();
    });
  }
  var offer = document.getElementById('passkey');
  offer.hidden = false;
  document.getElementById('passkey-button').addEventListener('click', function () {
    ask(null).catch(function (error) {
      if (error && error.name === 'AbortError') return;
      var notice = document.getElementById('passkey-error');
      notice.hidden = false;
    });
  });
  if (form.dataset.autofill === 'true' && pkc.isConditionalMediationAvailable) {
    pkc.isConditionalMediationAvailable().then(function (available) {
      if (available) ask('conditional').catch(function () {});
    });
  }
})();
`;
