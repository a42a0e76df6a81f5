/**
 * The Content-Security-Policy of the renderer, one definition for both front ends: scripts only from the app
 * itself (no inline scripts, no eval), no remote origins, no plugins, no framing. `mediaSources` adds where
 * images and downloads come from besides the app's own origin (Electron's `cs-media:` scheme). No inline styles either:
 * Svelte's `style:` directives and chart.js set element styles through the CSSOM, which `style-src 'self'` allows
 * (test/e2e/app.test.ts fails on any violation).
 */
export function contentSecurityPolicy(mediaSources: readonly string[] = []): string {
  const media = mediaSources.map((s) => ` ${s}`).join('');
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    `img-src 'self' data: blob:${media}`,
    `connect-src 'self'${media}`,
    "font-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}
