import { stat } from 'node:fs/promises';

/** Whether something exists at `p` (a symbolic link counts by what it points to). */
export async function pathExists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}
