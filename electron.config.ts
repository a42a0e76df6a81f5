/**
 * electron-builder configuration (`npm run dist`): AppImage and deb on Linux, dmg on macOS, NSIS on Windows.
 * The app runs from a plain folder rather than an asar archive, because its job worker threads load the
 * tfjs WebAssembly binaries and sharp's native module straight from node_modules. `models/` (the encoders and the
 * default caption model) ships beside the app as extra resources; the main process points
 * CAPTION_STUDIO_MODELS_DIR at it.
 */
import type { Configuration } from 'electron-builder';

const config: Configuration = {
  appId: 'org.captionstudio.app',
  productName: 'Caption Studio',
  copyright: 'Copyright © Caption Studio contributors',
  directories: { output: 'release', buildResources: 'assets' },
  asar: false,
  files: ['out/**/*', 'assets/icon.png', 'package.json', '!**/*.map'],
  extraResources: [{ from: 'models', to: 'models', filter: ['**/*'] }],
  icon: 'assets/icon.png',
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
