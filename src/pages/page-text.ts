// Every string a person reads on the pages, in one module: a translation is a copy of this file.

export const LANGUAGE = 'en';

export const text = {
  signInTitle: 'Sign in',
  signInHeading: (client: string) => `Sign in to continue to ${client}`,
  usernameLabel: 'Username or email',
  passwordLabel: 'Password',
  signInButton: 'Sign in',
  forgotPassword: 'Forgot your password?',
  invalidCredentials: 'The username or password is incorrect.',
  throttled: (seconds: number) => `Too many attempts. Try again in ${seconds} seconds.`,
  consentTitle: 'Allow access',
  consentHeading: (client: string) => `${client} would like to`,
  consentSignedInAs: (user: string) => `Signed in as ${user}.`,
  consentNote: 'You can withdraw this at any time from your account.',
  allowButton: 'Allow',
  denyButton: 'Deny',
  logoutTitle: 'Sign out',
  logoutHeading: 'Sign out?',
  logoutQuestion: (client: string | undefined) =>
    client ? `${client} asks to sign you out of this browser.` : 'Do you want to sign out of this browser?',
  logoutButton: 'Sign out',
  stayButton: 'Stay signed in',
  signedOutTitle: 'Signed out',
  signedOutMessage: 'You are signed out. You can close this window.',
  stayedMessage: 'You are still signed in. You can close this window.',
  createAccount: 'Create an account',
  backToSignIn: 'Back to sign in',
  forgotTitle: 'Reset your password',
  forgotIntro: 'Enter the email address of your account and we will send you a link to choose a new password.',
  emailLabel: 'Email address',
  forgotButton: 'Send the link',
  forgotSent: 'If an account has this address, a link to reset its password is on its way. It works once, for a limited time.',
  resetTitle: 'Choose a new password',
  resetCodeLabel: 'Reset code (from the link in the email)',
  newPasswordLabel: 'New password',
  resetButton: 'Set the new password',
  resetDone: 'Your password is changed, and you are signed out everywhere. Sign in with the new password.',
  signupTitle: 'Create an account',
  usernameOnlyLabel: 'Username',
  fullNameLabel: 'Full name (optional)',
  passwordRule: (minLength: number) => `At least ${minLength} characters. A few unrelated words make a good one.`,
  /** Each rule of the password policy, when a password breaks it. */
  passwordRefused: {
    min_length: (policy: { minLength: number }) => `The password is too short: use at least ${policy.minLength} characters.`,
    max_length: (policy: { maxLength: number }) => `The password is too long: use at most ${policy.maxLength} characters.`,
    not_username_or_email: () => 'The password must not be your username or email address.',
    not_common: () => 'That password is one of the most common ones, which attackers try first. Choose another.',
  },
  resetLinkInvalid: 'This reset code is invalid, expired or already used. Ask for a new link from “Forgot your password?”.',
  returnToApp: 'Go back to the application you were using to sign in.',
  invalidEmail: 'Enter an email address such as name@example.com.',
  signupButton: 'Create the account',
  signupDone: 'Your account is ready. Sign in with it.',
  accountTaken: 'That username or email address is already registered.',
  homeTitle: 'Sign-in service',
  homeIntro: (issuer: string) =>
    `${issuer} signs people in to its applications. To sign in, open the application you want to use: it brings you here.`,
  apiDocs: 'API documentation',
  discoveryDocument: 'OpenID Connect discovery document',
  passkeyButton: 'Sign in with a passkey',
  orDivider: 'or',
  passkeyInsteadButton: 'Use a passkey instead',
  passkeyFailed: 'No passkey was used. Try again, or sign in another way.',
  passkeyRefused: 'That passkey could not sign you in. Try again, or sign in another way.',
  secondFactorTitle: 'Two-step verification',
  secondFactorHeading: 'Enter a verification code',
  secondFactorIntro:
    'Open your authenticator app and enter the code it shows for this account. No phone? Enter one of your recovery codes instead.',
  codeLabel: 'Verification or recovery code',
  verifyButton: 'Verify',
  invalidCode: 'That code is incorrect or was already used. Wait for the next code and try again.',
  enrolTitle: 'Set up two-step verification',
  enrolIntro: (client: string) =>
    `${client} asks for a second step when you sign in. Scan this QR code with an authenticator app (such as 1Password, Google Authenticator or Aegis), then enter the code it shows.`,
  qrCodeLabel: 'QR code for your authenticator app',
  secretLabel: 'Or type this key into the app',
  enrolButton: 'Turn on two-step verification',
  recoveryCodesTitle: 'Your recovery codes',
  recoveryCodesIntro:
    'Keep these codes somewhere safe, such as a password manager. Each works once, instead of a code from your app, if you lose your phone. They are shown only now.',
  continueButton: 'I saved them, continue',
  errorTitle: 'Something went wrong',
  errorAdvice: 'Go back to the application and try again.',
  unavailable: 'The service is temporarily unavailable. Please try again in a moment.',
};

/** What a scope lets the client do, in words a user understands (OpenID Connect Core §5.4). */
export function describeScope(scope: string): string {
  const known: Record<string, string> = {
    openid: 'Know who you are',
    profile: 'See your name and username',
    email: 'See your email address',
    account: 'Manage your account: see where you are signed in and which apps you allowed, change your profile and password',
    offline_access: 'Stay signed in when you are not using it',
  };
  return known[scope] ?? `Use “${scope}” on your behalf`;
}
