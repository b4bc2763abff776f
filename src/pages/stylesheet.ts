/**
 * The pages' one stylesheet (served at /pages/style.css): system fonts, a centred card, the
 * configured accent colour, dark mode by `prefers-color-scheme`, readable at 360 px wide. No inline
 * styles, so the pages' CSP can forbid them.
 */
export function stylesheet(accent: string): string {
  return `:root {
  color-scheme: light dark;
  --accent: ${accent};
  --text: #1f2328;
  --muted: #59636e;
  --page: #f6f8fa;
  --card: #ffffff;
  --border: #d1d9e0;
  --error: #b42318;
  --error-bg: #fef3f2;
}
@media (prefers-color-scheme: dark) {
  :root {
    --text: #e6edf3;
    --muted: #9198a1;
    --page: #0d1117;
    --card: #161b22;
    --border: #3d444d;
    --error: #ffa198;
    --error-bg: #2d1214;
  }
}
* { box-sizing: border-box; }
[hidden] { display: none !important; }
html { font-size: 100%; }
body {
  margin: 0;
  min-height: 100vh;
  display: flex;
  flex-direction: column;
  align-items: center;
  justify-content: center;
  padding: 1.5rem 1rem;
  background: var(--page);
  color: var(--text);
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  line-height: 1.5;
}
main {
  width: 100%;
  max-width: 24rem;
  background: var(--card);
  border: 1px solid var(--border);
  border-radius: 0.75rem;
  padding: 2rem 1.75rem;
  box-shadow: 0 1px 3px rgb(0 0 0 / 0.06), 0 8px 24px rgb(0 0 0 / 0.06);
}
.brand {
  margin: 0 0 1.25rem;
  font-size: 0.95rem;
  font-weight: 600;
  letter-spacing: 0.01em;
  color: var(--accent);
}
h1 { font-size: 1.35rem; line-height: 1.3; margin: 0 0 1.25rem; }
p { margin: 0 0 1rem; }
.muted { color: var(--muted); font-size: 0.9rem; }
label { display: block; font-weight: 600; font-size: 0.9rem; margin: 0 0 0.35rem; }
input:not([type="hidden"], [type="checkbox"], [type="radio"]), select {
  display: block;
  width: 100%;
  font: inherit;
  padding: 0.6rem 0.75rem;
  margin: 0 0 1rem;
  color: var(--text);
  background: var(--card);
  border: 1px solid var(--border);
  border-radius: 0.5rem;
}
input:focus-visible, select:focus-visible, button:focus-visible, a:focus-visible {
  outline: 3px solid var(--accent);
  outline-offset: 2px;
}
button {
  display: block;
  width: 100%;
  font: inherit;
  font-weight: 600;
  padding: 0.65rem 1rem;
  border-radius: 0.5rem;
  border: 1px solid var(--accent);
  background: var(--accent);
  color: #ffffff;
  cursor: pointer;
}
button.secondary { background: transparent; color: var(--text); border-color: var(--border); }
.actions { display: grid; gap: 0.75rem; margin-top: 0.5rem; }
a { color: var(--accent); }
.links { margin: 1.25rem 0 0; font-size: 0.9rem; text-align: center; }
ul.links { list-style: none; padding: 0; }
ul.links li { margin: 0 0 0.6rem; }
.error {
  border: 1px solid var(--error);
  background: var(--error-bg);
  color: var(--error);
  border-radius: 0.5rem;
  padding: 0.6rem 0.75rem;
  margin: 0 0 1rem;
  font-size: 0.95rem;
}
.error::before { content: "⚠ "; }
ul.scopes { list-style: none; padding: 0; margin: 0 0 1.25rem; border-top: 1px solid var(--border); }
ul.scopes li { padding: 0.6rem 0; border-bottom: 1px solid var(--border); }
ul.scopes code { color: var(--muted); font-size: 0.8rem; display: block; }
h2 { font-size: 1.05rem; margin: 1.75rem 0 0.75rem; padding-top: 1.25rem; border-top: 1px solid var(--border); }
ul.items { list-style: none; padding: 0; margin: 0 0 1rem; }
ul.items li { display: grid; gap: 0.15rem; padding: 0.6rem 0; border-bottom: 1px solid var(--border); }
ul.items form { margin-top: 0.35rem; }
button.small { width: auto; padding: 0.3rem 0.8rem; font-size: 0.85rem; }
.notice { padding: 0.6rem 0.75rem; border-radius: 0.5rem; border: 1px solid var(--border); }
ul.providers { list-style: none; padding: 0; margin: 0; display: grid; gap: 0.6rem; }
a.button {
  display: block;
  text-align: center;
  font-weight: 600;
  padding: 0.65rem 1rem;
  border-radius: 0.5rem;
  border: 1px solid var(--border);
  color: var(--text);
  text-decoration: none;
}
p.or { text-align: center; color: var(--muted); font-size: 0.9rem; margin: 1rem 0; }
.passkey .error { margin-top: 0.75rem; }
figure.qr { margin: 0 auto 1rem; width: 12rem; max-width: 100%; }
figure.qr svg { display: block; width: 100%; height: auto; }
code.secret { word-break: break-all; }
ul.codes { display: grid; grid-template-columns: repeat(2, 1fr); gap: 0.4rem 1rem; list-style: none; padding: 0; margin: 0 0 1.25rem; }
ul.codes code { font-size: 0.95rem; }
`;
}
