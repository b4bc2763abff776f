/**
 * The one script of the issuer's pages that need one for passkeys (served at /pages/passkey.js, CSP
 * `script-src 'self'`). On the login and second-factor pages it asks the browser for a passkey with
 * the options the page carries, also in the username field's autofill on the login page
 * (conditional mediation); on the account page's passkey page it asks the browser to create one.
 * Either way it posts the answer (WebAuthn Level 3's `toJSON()`) in a form, so the server answers
 * as it does every form. Without JavaScript or WebAuthn the passkey buttons stay hidden or fail
 * with a sentence, and everything else works.
 */
export const PASSKEY_SCRIPT = `(function () {
  var pkc = window.PublicKeyCredential;
  if (!pkc || !navigator.credentials) return;
  function post(form, credential) {
    form.elements.credential.value = JSON.stringify(credential.toJSON());
    form.submit();
  }
  function failed(error) {
    if (error && error.name === 'AbortError') return;
    document.getElementById('passkey-error').hidden = false;
  }

  var signIn = document.getElementById('passkey-form');
  if (signIn && pkc.parseRequestOptionsFromJSON) {
    var options = JSON.parse(signIn.dataset.options);
    var pending = null;
    var ask = function (mediation) {
      if (pending) pending.abort();
      pending = new AbortController();
      var request = { publicKey: pkc.parseRequestOptionsFromJSON(options), signal: pending.signal };
      if (mediation) request.mediation = mediation;
      return navigator.credentials.get(request).then(function (credential) {
        if (credential) post(signIn, credential);
      });
    };
    document.getElementById('passkey').hidden = false;
    document.getElementById('passkey-button').addEventListener('click', function () {
      ask(null).catch(failed);
    });
    if (signIn.dataset.autofill === 'true' && pkc.isConditionalMediationAvailable) {
      pkc.isConditionalMediationAvailable().then(function (available) {
        if (available) ask('conditional').catch(function () {});
      });
    }
  }

  var register = document.getElementById('passkey-register-form');
  if (register && pkc.parseCreationOptionsFromJSON) {
    document.getElementById('passkey-create').addEventListener('click', function () {
      var publicKey = pkc.parseCreationOptionsFromJSON(JSON.parse(register.dataset.options));
      navigator.credentials.create({ publicKey: publicKey }).then(function (credential) {
        post(register, credential);
      }, failed);
    });
  }
})();
`;
