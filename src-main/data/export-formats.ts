/** The formats captions are exported in: the one list the writer, the CLI and the UI contract use. */
export const EXPORT_FORMATS = ['csv', 'jsonl', 'sidecar', 'coco-results'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];
