/**
 * Synthetic "coloured shapes" pictures for tests, drawn with sharp from SVG: big, saturated circles, squares and
 * triangles on a plain background, so an ImageNet encoder's features carry what they are and where they sit.
 * Scenes hold two shapes, one above the other; `sceneCaptions` describes a scene in several wordings
 * ("a red circle above a blue square", "there is a red circle above a blue square", …).
 */
import sharp from 'sharp';
import type { Rng } from '../../src-main/util/rng.ts';

export const SHAPE_KINDS = ['circle', 'square', 'triangle'] as const;
export type ShapeKind = (typeof SHAPE_KINDS)[number];

/** Colour names and the saturated fill each is drawn with. */
export const SHAPE_COLOURS = { red: '#e01010', green: '#10b020', blue: '#1030e0', yellow: '#f0d000' } as const;
export type ShapeColour = keyof typeof SHAPE_COLOURS;
export const SHAPE_COLOUR_NAMES = Object.keys(SHAPE_COLOURS) as ShapeColour[];

/** One shape: what it is and where (centre and size in pixels of the picture). */
export interface Shape {
  readonly kind: ShapeKind;
  readonly colour: ShapeColour;
  readonly cx: number;
  readonly cy: number;
  /** Width and height of the shape's bounding box. */
  readonly size: number;
}

/** A two-shape scene: `top` drawn above `bottom`. */
export interface ShapeScene {
  readonly top: Shape;
  readonly bottom: Shape;
}

/** What a scene shows, without where exactly: the pair of (colour, kind) from top to bottom. */
export interface SceneContent {
  readonly top: { readonly kind: ShapeKind; readonly colour: ShapeColour };
  readonly bottom: { readonly kind: ShapeKind; readonly colour: ShapeColour };
}

/** The SVG markup of one shape. */
function shapeElement(s: Shape): string {
  const fill = SHAPE_COLOURS[s.colour];
  const r = s.size / 2;
  switch (s.kind) {
    case 'circle':
      return `<circle cx="${s.cx}" cy="${s.cy}" r="${r}" fill="${fill}"/>`;
    case 'square':
      return `<rect x="${s.cx - r}" y="${s.cy - r}" width="${s.size}" height="${s.size}" fill="${fill}"/>`;
    case 'triangle':
      return `<polygon points="${s.cx},${s.cy - r} ${s.cx + r},${s.cy + r} ${s.cx - r},${s.cy + r}" fill="${fill}"/>`;
  }
}

/** An SVG document of `size`² pixels with the shapes on a plain background. */
export function shapesSvg(shapes: readonly Shape[], size = 224, background = '#ffffff'): string {
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${size}" height="${size}" viewBox="0 0 ${size} ${size}">` +
    `<rect width="${size}" height="${size}" fill="${background}"/>${shapes.map(shapeElement).join('')}</svg>`
  );
}

/** The shapes rendered by sharp as an image file in memory (PNG by default, or JPEG). */
export async function renderShapes(
  shapes: readonly Shape[],
  options: { readonly size?: number; readonly background?: string; readonly format?: 'png' | 'jpeg' } = {},
): Promise<Buffer> {
  const img = sharp(Buffer.from(shapesSvg(shapes, options.size, options.background)));
  return options.format === 'jpeg' ? img.jpeg({ quality: 90 }).toBuffer() : img.png().toBuffer();
}

/** The shapes rendered as `size`² × 3 RGB bytes, the layout `ImageEncoder.encode` takes (224 for MobileNet). */
export async function renderShapePixels(shapes: readonly Shape[], size = 224, background = '#ffffff'): Promise<Uint8Array> {
  const { data, info } = await sharp(Buffer.from(shapesSvg(shapes, size, background)))
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  if (info.width !== size || info.height !== size || info.channels !== 3) {
    throw new Error(`renderShapePixels: sharp gave ${info.width}×${info.height}×${info.channels}, expected ${size}×${size}×3`);
  }
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** Every pair of top and bottom shape (each a colour and a kind) that are not identical, in a fixed order. */
export function allSceneContents(
  colours: readonly ShapeColour[] = SHAPE_COLOUR_NAMES,
  kinds: readonly ShapeKind[] = SHAPE_KINDS,
): SceneContent[] {
  const objects = colours.flatMap((colour) => kinds.map((kind) => ({ colour, kind })));
  const out: SceneContent[] = [];
  for (const top of objects) for (const bottom of objects) if (top.colour !== bottom.colour || top.kind !== bottom.kind) out.push({ top, bottom });
  return out;
}

/** How much a rendering may vary: shape size as a fraction of the picture, and how far centres may move. */
export interface Placement {
  /** Smallest and largest shape size, as fractions of the picture side (default 0.30–0.40). */
  readonly sizeRange?: readonly [number, number];
  /** Fraction of the free room (inside the shape's half of the picture) the centre may move (default 1: all of it). */
  readonly jitter?: number;
}

/**
 * A rendering of `content` in a `size`² picture: the top shape in the upper half, the bottom one in the lower
 * half, each with a size and a horizontal and vertical position drawn by `rng` (shapes never overlap).
 */
export function placeScene(content: SceneContent, rng: Rng, size = 224, placement: Placement = {}): ShapeScene {
  const [minSize, maxSize] = placement.sizeRange ?? [0.3, 0.4];
  const jitter = placement.jitter ?? 1;
  if (!(minSize > 0 && minSize <= maxSize && maxSize <= 0.5)) throw new Error(`placeScene: sizeRange must lie in (0, 0.5], got [${minSize}, ${maxSize}]`);
  const place = (o: SceneContent['top'], half: 0 | 1): Shape => {
    const s = Math.round(size * (minSize + (maxSize - minSize) * rng.next()));
    const margin = s / 2 + 1;
    const free = (lo: number, hi: number): number => Math.round((lo + hi) / 2 + (rng.next() - 0.5) * jitter * Math.max(0, hi - lo));
    const cx = free(margin, size - margin);
    const cy = free(half * (size / 2) + margin, (half + 1) * (size / 2) - margin);
    return { ...o, cx, cy, size: s };
  };
  return { top: place(content.top, 0), bottom: place(content.bottom, 1) };
}

/** The scene's shapes, top first. */
export function sceneShapes(scene: ShapeScene): Shape[] {
  return [scene.top, scene.bottom];
}

/**
 * Three captions of a scene in varied wording, each naming the top shape first: "a red circle above a blue
 * square", "there is a red circle above a blue square", "a red circle is above a blue square".
 */
export function sceneCaptions(content: SceneContent): string[] {
  const t = `${content.top.colour} ${content.top.kind}`;
  const b = `${content.bottom.colour} ${content.bottom.kind}`;
  return [`a ${t} above a ${b}`, `there is a ${t} above a ${b}`, `a ${t} is above a ${b}`];
}
