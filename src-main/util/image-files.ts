/** Image files by extension: the one table of the extensions read as images and the MIME type each is served as. */
import path from 'node:path';

/** Extensions (lower case, with the dot) of the images libvips/sharp decodes, and their MIME types. */
export const IMAGE_MIME_TYPES: Readonly<Record<string, string>> = {
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.jpe': 'image/jpeg',
  '.jfif': 'image/jpeg',
  '.png': 'image/png',
  '.webp': 'image/webp',
  '.gif': 'image/gif',
  '.tif': 'image/tiff',
  '.tiff': 'image/tiff',
  '.avif': 'image/avif',
  '.heic': 'image/heic',
  '.heif': 'image/heif',
};

/** The MIME type of an image file by its extension (application/octet-stream when it is not one). */
export function imageMimeType(file: string): string {
  return IMAGE_MIME_TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream';
}
