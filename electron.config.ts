/**
 * electron-builder configuration (`npm run dist`): AppImage and deb on Linux, dmg on macOS, NSIS on Windows.
 * The app ships as an asar archive (Electron loads worker-thread scripts from asar since v19); what cannot be read
 * from inside an archive is unpacked beside it: sharp's native module with its libvips, and the tfjs WebAssembly
 * binaries the job workers read with fs. `models/` (the encoders and the default caption model) ships beside the
 * app as extra resources; the main process points CAPTION_STUDIO_MODELS_DIR at it.
 *
 * After packing, the Electron binary's fuses are flipped (`@electron/fuses`): it can no longer run as plain Node
 * (ELECTRON_RUN_AS_NODE), take NODE_OPTIONS or --inspect arguments, or load an app from anywhere but its own
 * asar archive, whose integrity it checks at start.
 */
import path from 'node:path';
import type { AfterPackContext, Configuration } from 'electron-builder';
import { flipFuses, FuseV1Options, FuseVersion, type FuseV1Config } from '@electron/fuses';

/** The fuses every packaged Caption Studio has (test/app/packaging.test.ts checks them). */
export const FUSES = {
  version: FuseVersion.V1,
  strictlyRequireAllFuses: true,
  [FuseV1Options.RunAsNode]: false,
  [FuseV1Options.EnableCookieEncryption]: true,
  [FuseV1Options.EnableNodeOptionsEnvironmentVariable]: false,
  [FuseV1Options.EnableNodeCliInspectArguments]: false,
  [FuseV1Options.EnableEmbeddedAsarIntegrityValidation]: true,
  [FuseV1Options.OnlyLoadAppFromAsar]: true,
  [FuseV1Options.LoadBrowserProcessSpecificV8Snapshot]: false,
  [FuseV1Options.GrantFileProtocolExtraPrivileges]: false,
} as const satisfies FuseV1Config;

/** The packed Electron executable (macOS: the .app bundle) inside `appOutDir`. */
export function electronBinaryPath(context: Pick<AfterPackContext, 'appOutDir' | 'electronPlatformName' | 'packager'>): string {
  const { appOutDir, electronPlatformName, packager } = context;
  const productFilename = packager.appInfo.productFilename;
  switch (electronPlatformName) {
    case 'darwin':
    case 'mas':
      return path.join(appOutDir, `${productFilename}.app`);
    case 'win32':
      return path.join(appOutDir, `${productFilename}.exe`);
    default: {
      const executableName = (packager as { executableName?: string }).executableName;
      return path.join(appOutDir, executableName ?? productFilename);
    }
  }
}

/** electron-builder's afterPack hook: flips the fuses of the packed binary. */
export async function afterPack(context: AfterPackContext): Promise<void> {
  const darwin = context.electronPlatformName === 'darwin' || context.electronPlatformName === 'mas';
  // Flipping fuses invalidates an ad-hoc signature; arm64 macOS refuses to run unsigned code, so re-sign ad hoc.
  await flipFuses(electronBinaryPath(context), { ...FUSES, resetAdHocDarwinSignature: darwin });
}

const config: Configuration = {
  appId: 'org.captionstudio.app',
  productName: 'Caption Studio',
  copyright: 'Copyright © Caption Studio contributors',
  directories: { output: 'release', buildResources: 'assets' },
  asar: true,
  asarUnpack: ['**/node_modules/sharp/**/*', '**/node_modules/@img/**/*', '**/node_modules/@tensorflow/tfjs-backend-wasm/dist/*.wasm'],
  files: ['out/**/*', 'assets/icon.png', 'package.json', '!**/*.map'],
  extraResources: [{ from: 'models', to: 'models', filter: ['**/*'] }],
  icon: 'assets/icon.png',
  afterPack,
  linux: {
    target: ['AppImage', 'deb'],
    category: 'Graphics',
    synopsis: 'Caption images with a network you train yourself',
    maintainer: 'Caption Studio contributors',
  },
  deb: { depends: ['libnss3', 'libgtk-3-0', 'libxss1', 'libasound2'] },
  mac: { target: ['dmg'], category: 'public.app-category.graphics-design' },
  dmg: { title: 'Caption Studio' },
  win: { target: ['nsis'] },
  nsis: { oneClick: false, allowToChangeInstallationDirectory: true, perMachine: false },
};

export default config;
