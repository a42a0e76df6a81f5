/**
 * A saliency heat map drawn over its image as a PNG (sharp): the image as a viewer shows it (EXIF orientation
 * applied, alpha flattened), scaled to fit `maxSide`, with the map stretched over the whole picture (the encoder
 * saw the whole image squashed to a square) and bilinearly interpolated, coloured by `heatColour`.
 */
import sharp from 'sharp';
import { heatColour, sampleHeat } from './heat-colours.ts';
import { FLATTEN_BACKGROUND } from './images.ts';

export interface HeatMapGrid {
  readonly width: number;
  readonly height: number;
  readonly values: readonly number[];
}

/** The overlay PNG of `heatmap` on the image file's bytes; the longer side at most `maxSide` pixels (default 512). */
export async function heatmapOverlayPng(image: Uint8Array, heatmap: HeatMapGrid, maxSide = 512): Promise<Buffer> {
  const { data, info } = await sharp(image)
    .rotate()
    .flatten({ background: FLATTEN_BACKGROUND })
    .toColourspace('srgb')
    .resize(maxSide, maxSide, { fit: 'inside', withoutEnlargement: true })
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  const { width, height } = info;
  const out = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const { r, g, b, a } = heatColour(sampleHeat(heatmap.values, heatmap.width, heatmap.height, x, y, width, height));
      const k = (y * width + x) * 3;
      out[k] = Math.round(data[k]! * (1 - a) + r * a);
      out[k + 1] = Math.round(data[k + 1]! * (1 - a) + g * a);
      out[k + 2] = Math.round(data[k + 2]! * (1 - a) + b * a);
    }
  }
  return sharp(out, { raw: { width, height, channels: 3 } }).png().toBuffer();
}
