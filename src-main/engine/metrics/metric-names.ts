/** The caption metrics in the order tables print them, with their printed names (CLI `eval`, the compare study, the app). */
import type { CaptionScores } from './evaluate.ts';

export const CAPTION_METRICS = [
  ['bleu1', 'BLEU-1'],
  ['bleu2', 'BLEU-2'],
  ['bleu3', 'BLEU-3'],
  ['bleu4', 'BLEU-4'],
  ['rougeL', 'ROUGE-L'],
  ['ciderD', 'CIDEr-D'],
] as const satisfies readonly (readonly [keyof CaptionScores, string])[];
