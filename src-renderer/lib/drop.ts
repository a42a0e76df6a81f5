/**
 * Files from a drop or a paste. In browser mode a dropped folder is walked with the File System entries API
 * (its image files are uploaded); in Electron the folder itself is passed on by path and the backend walks it.
 */
const IMAGE_NAME = /\.(jpe?g|jpe|jfif|png|webp|gif|tiff?|avif|heic|heif)$/i;

function readEntries(reader: FileSystemDirectoryReader): Promise<FileSystemEntry[]> {
  return new Promise((resolve, reject) => reader.readEntries(resolve, reject));
}

function fileOf(entry: FileSystemFileEntry): Promise<File> {
  return new Promise((resolve, reject) => entry.file(resolve, reject));
}

async function walk(entry: FileSystemEntry, out: File[]): Promise<void> {
  if (entry.isFile) {
    if (IMAGE_NAME.test(entry.name)) out.push(await fileOf(entry as FileSystemFileEntry));
    return;
  }
  if (entry.isDirectory) {
    const reader = (entry as FileSystemDirectoryEntry).createReader();
    for (;;) {
      const batch = await readEntries(reader);
      if (batch.length === 0) break;
      for (const child of batch.sort((a, b) => a.name.localeCompare(b.name))) if (!child.name.startsWith('.')) await walk(child, out);
    }
  }
}

/** True when a drag carries files (not text or a link). */
export function dragHasFiles(event: DragEvent): boolean {
  return [...(event.dataTransfer?.types ?? [])].includes('Files');
}

/**
 * The files of a drop. `expandFolders` (browser mode) walks dropped folders into their image files; otherwise
 * folders come back as the File objects the drop gave (Electron resolves them to paths).
 */
export async function filesFromDrop(data: DataTransfer, expandFolders: boolean): Promise<File[]> {
  if (!expandFolders) return [...data.files];
  const entries = [...data.items].map((item) => (item.kind === 'file' ? item.webkitGetAsEntry() : null));
  if (entries.every((e) => e === null)) return [...data.files];
  const out: File[] = [];
  for (const [i, entry] of entries.entries()) {
    if (entry) await walk(entry, out);
    else {
      const file = data.items[i]?.getAsFile();
      if (file) out.push(file);
    }
  }
  return out;
}

/** Image files pasted from the clipboard (screenshots, copied images). */
export function filesFromPaste(event: ClipboardEvent): File[] {
  return [...(event.clipboardData?.files ?? [])].filter((f) => f.type.startsWith('image/'));
}
