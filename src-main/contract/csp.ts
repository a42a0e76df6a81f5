/**
 * The Content-Security-Policy of the renderer, one definition for both front ends: scripts only from the app
 * itself (no inline scripts, no eval), no remote origins, no plugins, no framing. Inline style attributes are
 * allowed because Svelte and chart.js set element styles.
 */
export function contentSecurityPolicy(extraImageSources: readonly string[] = []): string {
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    `img-src 'self' data: blob:${extraImageSources.map((s) => ` ${s}`).join('')}`,
    "connect-src 'self'",
    "font-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}
