/** The application menu: standard edit and window roles, reload and developer tools only in development. */
import { app, Menu, type MenuItemConstructorOptions } from 'electron';

type Role = NonNullable<MenuItemConstructorOptions['role']>;
const role = (r: Role): MenuItemConstructorOptions => ({ role: r });
const separator: MenuItemConstructorOptions = { type: 'separator' };

export function setupMenu(): void {
  const dev = !app.isPackaged;
  const mac = process.platform === 'darwin';
  const template: MenuItemConstructorOptions[] = [
    ...(mac ? [role('appMenu')] : []),
    { label: 'File', submenu: [role(mac ? 'close' : 'quit')] },
    role('editMenu'),
    {
      label: 'View',
      submenu: [...(dev ? [role('reload'), role('toggleDevTools'), separator] : []), role('resetZoom'), role('zoomIn'), role('zoomOut'), separator, role('togglefullscreen')],
    },
    role('windowMenu'),
  ];
  Menu.setApplicationMenu(Menu.buildFromTemplate(template));
}
