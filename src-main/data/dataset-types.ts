/**
 * The one in-memory shape every dataset format is read into, whatever file or folder it came from.
 * Plain data (JSON-serialisable), so it can cross the IPC / HTTP contract unchanged.
 */

/** The formats Caption Studio reads and writes back. */
export const DATASET_FORMATS = ['sidecar', 'csv', 'coco', 'karpathy', 'flickr8k'] as const;
export type DatasetFormat = (typeof DATASET_FORMATS)[number];

/** The three parts of a dataset; Karpathy's 'restval' is read as 'train'. */
export const SPLITS = ['train', 'val', 'test'] as const;
export type Split = (typeof SPLITS)[number];

/** One image and its reference captions. */
export interface DatasetItem {
  /**
   * Stable, machine-independent name of the image inside its dataset: the path relative to the dataset folder
   * (forward slashes) for sidecar, CSV, Flickr8k and Karpathy; the image id for COCO.
   */
  readonly id: string;
  /** Absolute path of the image file (it existed when the dataset was read). */
  readonly imagePath: string;
  /** Reference captions, trimmed, without empty ones or exact duplicates; may be empty (an uncaptioned image). */
  readonly captions: readonly string[];
  readonly split?: Split;
}

/** What kind of trouble a problem is, so callers can count them (e.g. `datasetStats` counts missing images). */
export type ProblemKind =
  | 'missing-image' // an entry names an image file that does not exist (the entry is skipped)
  | 'duplicate-entry' // the same image listed twice (captions merged, or the later entry ignored)
  | 'duplicate-caption' // the same caption twice for one image (the copy is dropped)
  | 'empty-caption' // a caption that is empty or only spaces (skipped)
  | 'invalid-entry' // a row / line / JSON entry that cannot be understood (skipped)
  | 'orphan-caption' // a sidecar caption file with no image beside it
  | 'other-source'; // another caption file in a sidecar folder, not read (the sidecars were preferred)

/** Something wrong with one entry of a dataset. Never fatal: the entry is skipped or repaired as `reason` says. */
export interface DatasetProblem {
  readonly kind: ProblemKind;
  /** The file the problem is about (the annotation file, or the image / caption file it names). */
  readonly path: string;
  /** 1-based line in `path` when known. */
  readonly line?: number;
  /** One line saying what is wrong and what was done about it. */
  readonly reason: string;
}

/** Settings that reproduce a seeded split (see `assignSplits`). */
export interface SplitSpec {
  readonly seed: number;
  readonly valFraction: number;
  readonly testFraction: number;
}

/** Where the items' splits came from: none yet, the dataset's own, or `assignSplits` with these settings. */
export type SplitOrigin = { readonly kind: 'none' } | { readonly kind: 'dataset' } | ({ readonly kind: 'seeded' } & SplitSpec);

/** A dataset as read from disk. */
export interface Dataset {
  readonly format: DatasetFormat;
  /** Absolute path of the file (CSV, JSON, token file) or folder (sidecar) it was read from. */
  readonly source: string;
  /** The images directory given when loading, if any (kept so the dataset can be re-read the same way). */
  readonly imagesDir?: string;
  /** Set when loaded with `keepDuplicateCaptions` (kept so saving re-reads it the same way). */
  readonly keepDuplicateCaptions?: boolean;
  readonly items: readonly DatasetItem[];
  readonly problems: readonly DatasetProblem[];
  readonly splits: SplitOrigin;
}

/** A caption edit from the dataset browser: the new, complete list of captions for one item. */
export interface CaptionEdit {
  readonly id: string;
  readonly captions: readonly string[];
}

/** Options every reader takes. */
export interface ReadOptions {
  /** Where images are, when not where the format's own rules look (COCO, Karpathy, CSV, Flickr8k). */
  readonly imagesDir?: string;
  /**
   * Keep exact-duplicate captions of an image instead of dropping (and reporting) them. Evaluation against
   * published figures wants this: UCM-Captions repeats many references, and CIDEr-D averages over references.
   */
  readonly keepDuplicateCaptions?: boolean;
}
