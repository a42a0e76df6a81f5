import { describe, expect, it } from 'vitest';
import { defaultExportPath } from '../../src-renderer/lib/export-path.ts';

describe('defaultExportPath', () => {
  it('puts the export beside the dataset folder, never inside it', () => {
    expect(defaultExportPath('/home/me/photos', 'csv')).toBe('/home/me/photos-captions.csv');
    expect(defaultExportPath('/home/me/photos/', 'csv')).toBe('/home/me/photos-captions.csv');
    expect(defaultExportPath('/home/me/coco/captions.json', 'jsonl')).toBe('/home/me/coco-captions.jsonl');
    expect(defaultExportPath('C:\\Users\\me\\photos', 'csv')).toBe('C:\\Users\\me\\photos-captions.csv');
    expect(defaultExportPath('/photos', 'csv')).toBe('/photos-captions.csv');
    expect(defaultExportPath('  ', 'csv')).toBe('');
  });
});
