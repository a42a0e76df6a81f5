/**
 * Where the app keeps the user's things: settings, trained/imported models and training runs in the data folder,
 * thumbnails in the cache folder (OS conventions via env-paths; `CAPTION_STUDIO_DATA_DIR` and
 * `CAPTION_STUDIO_CACHE_DIR` override them, e.g. for tests or a portable install; `CAPTION_STUDIO_CACHE`, the CLI's
 * earlier name for the cache folder, is still read).
 */
import envPaths from 'env-paths';

export interface AppDirs {
  readonly dataDir: string;
  readonly cacheDir: string;
}

export function appDirs(env: Readonly<Record<string, string | undefined>> = process.env): AppDirs {
  const paths = envPaths('caption-studio', { suffix: '' });
  return {
    dataDir: env.CAPTION_STUDIO_DATA_DIR || paths.data,
    cacheDir: env.CAPTION_STUDIO_CACHE_DIR || env.CAPTION_STUDIO_CACHE || paths.cache,
  };
}
