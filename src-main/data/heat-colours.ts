/**
 * The colour scale of saliency heat maps, shared by the CLI's PNG overlays and the app's canvas (through
 * contract/heat-colours.ts) so both show the same colours: yellow to red, with opacity growing with the value
 * (cold regions leave the image as it is).
 */

/** Most opacity a heat-map pixel gets (at value 1). */
export const HEAT_MAX_ALPHA = 0.65;

/** RGB (0–255) and opacity (0–1) of a heat-map value in [0, 1]. */
export function heatColour(value: number): { r: number; g: number; b: number; a: number } {
  const v = Math.min(1, Math.max(0, value));
  // 0 → yellow (255, 230, 0), 1 → red (220, 20, 0).
  return { r: Math.round(255 - 35 * v), g: Math.round(230 - 210 * v), b: 0, a: HEAT_MAX_ALPHA * Math.sqrt(v) };
}

/**
 * The map's value at (x, y) of an image `width` × `height` (pixel centres), bilinearly interpolated between the
 * centres of the map's cells (the map covers the whole image).
 */
export function sampleHeat(values: readonly number[], mapWidth: number, mapHeight: number, x: number, y: number, width: number, height: number): number {
  const fx = clamp(((x + 0.5) / width) * mapWidth - 0.5, 0, mapWidth - 1);
  const fy = clamp(((y + 0.5) / height) * mapHeight - 0.5, 0, mapHeight - 1);
  const x0 = Math.floor(fx);
  const y0 = Math.floor(fy);
  const x1 = Math.min(mapWidth - 1, x0 + 1);
  const y1 = Math.min(mapHeight - 1, y0 + 1);
  const tx = fx - x0;
  const ty = fy - y0;
  const at = (cx: number, cy: number): number => values[cy * mapWidth + cx] ?? 0;
  return (at(x0, y0) * (1 - tx) + at(x1, y0) * tx) * (1 - ty) + (at(x0, y1) * (1 - tx) + at(x1, y1) * tx) * ty;
}

function clamp(x: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, x));
}
