/** `caption --explain DIR`: each captioned image's explanation files (pipeline/explain-files.ts), one image at a time. */
import { mkdir, stat } from 'node:fs/promises';
import { modelLabel, type CaptionModel } from '../../engine/caption-model.ts';
import type { ImageEncoder } from '../../engine/encoder.ts';
import { loadUnitMeanings, type UnitMeanings } from '../../engine/explain-units.ts';
import { ExplainNames, writeExplanationFiles } from '../../pipeline/explain-files.ts';
import { explainImage } from '../../pipeline/explain-image.ts';
import { ExitError } from '../options.ts';

export class ExplainWriter {
  private readonly names = new ExplainNames();

  private constructor(
    private readonly dir: string,
    private readonly model: CaptionModel,
    private readonly encoder: ImageEncoder,
    private readonly units: UnitMeanings | null,
  ) {}

  /** Creates the folder (refusing a file of that name) and reads the model's unit meanings, if any. */
  static async open(dir: string, modelDir: string, model: CaptionModel, encoder: ImageEncoder): Promise<ExplainWriter> {
    const st = await stat(dir).catch(() => null);
    if (st && !st.isDirectory()) throw new ExitError(`--explain ${dir}: is a file, not a folder`);
    await mkdir(dir, { recursive: true });
    return new ExplainWriter(dir, model, encoder, await loadUnitMeanings(modelDir, model));
  }

  /** Explains `words` (the image's caption) and writes the files; a failure is one stderr line, not the end of the run. */
  async write(imagePath: string, words: readonly string[]): Promise<void> {
    try {
      const explanation = await explainImage(imagePath, { model: this.model, encoder: this.encoder, caption: words, units: this.units });
      await writeExplanationFiles(this.dir, this.names.next(imagePath), explanation, { model: modelLabel(this.model) });
    } catch (err) {
      process.stderr.write(`${imagePath}: cannot explain (${(err as Error).message.split('\n')[0]})\n`);
    }
  }
}
