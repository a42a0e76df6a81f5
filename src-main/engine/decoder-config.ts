/** The schema of a decoder's shape, the one that bundles and checkpoints are both checked against. */
import { z } from 'zod';
import { SPECIAL_TOKENS, type DecoderConfig } from './model-types.ts';

export const decoderConfigSchema = z
  .object({
    /** Every vocabulary holds at least the special tokens. */
    vocabSize: z.number().int().min(SPECIAL_TOKENS.length),
    embedDim: z.number().int().min(1),
    hiddenDim: z.number().int().min(1),
    featureDim: z.number().int().min(1),
    injection: z.enum(['every', 'init']),
    dropout: z.number().min(0).lt(1),
  }) satisfies z.ZodType<DecoderConfig>;
