/** The heat-map colour scale, for the renderer (the same one the CLI's PNG overlays use: data/heat-colours.ts). */
export { HEAT_MAX_ALPHA, heatColour, sampleHeat } from '../data/heat-colours.ts';
