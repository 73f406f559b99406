import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { makeParentDirs } from '../../activities/streams.js';

const dirs: string[] = [];
const tempDir = async () => {
  const dir = await mkdtemp(join(tmpdir(), 'pt-dirs-'));
  dirs.push(dir);
  return dir;
};
afterAll(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

describe('makeParentDirs', () => {
  it('makes the missing directories above a file, and is harmless when they exist', async () => {
    const dir = await tempDir();
    await makeParentDirs(join(dir, 'a/b/c/out.txt'));
    await makeParentDirs(join(dir, 'a/b/c/out.txt'));
    expect(await readdir(join(dir, 'a/b'))).toEqual(['c']);
  });

  // fs.mkdir(..., { recursive: true }) never settles for this path: an output file under /proc held
  // a job's result collection (and a libuv thread) for ever. Found by the property test.
  it('fails at once where nothing can be made', async () => {
    await expect(makeParentDirs('/proc/pt-nope/out.txt')).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('fails where a parent is a file', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'file'), '');
    await expect(makeParentDirs(join(dir, 'file/below/out.txt'))).rejects.toMatchObject({ code: 'ENOTDIR' });
  });
});
