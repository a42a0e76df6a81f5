/**
 * Builds the renderer (Svelte 5) into out/renderer. `base: './'` keeps asset URLs relative, so the same build
 * loads from the browser-mode server and from a file in the packaged Electron app.
 */
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { defineConfig } from 'vite';

export default defineConfig({
  root: 'src-renderer',
  base: './',
  plugins: [svelte()],
  build: {
    outDir: '../out/renderer',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    chunkSizeWarningLimit: 1024,
    // No inline module-preload polyfill: the CSP allows no inline scripts.
    modulePreload: { polyfill: false },
  },
  server: { port: 5173, strictPort: false },
});
