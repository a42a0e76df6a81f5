/** Applies the theme setting to the page: 'system' follows the OS light/dark preference live. */
import type { Theme } from '../../src-main/contract/types.ts';

const media = window.matchMedia('(prefers-color-scheme: dark)');

class ThemeState {
  setting = $state<Theme>('system');
  osDark = $state(media.matches);
  resolved = $derived<'light' | 'dark'>(this.setting === 'system' ? (this.osDark ? 'dark' : 'light') : this.setting);
}

export const themeState = new ThemeState();
media.addEventListener('change', (e) => (themeState.osDark = e.matches));

/** Keeps <html data-theme> equal to the resolved theme. */
export function applyTheme(): void {
  $effect(() => {
    document.documentElement.dataset.theme = themeState.resolved;
  });
}
