import { mkdtemp, open, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { closeStream, makeParentDirs } from '../../activities/streams.js';

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

describe('closeStream', () => {
  // Seen in CI: a job's output file on a full disk was reported as "Cannot call end after a stream
  // was destroyed" (InvalidArgument) instead of ENOSPC (OutOfResource), when the logs ended while
  // the failed file was being closed. /dev/full fails every write with ENOSPC.
  it("answers the failed write's ENOSPC when ended while the failed file is still closing", async () => {
    const file = (await open('/dev/full', 'w')).createWriteStream();
    const told = new Promise<NodeJS.ErrnoException>((resolve) => file.once('error', resolve));
    file.write(Buffer.alloc(65536, 'x'));
    while (!file.destroyed) await new Promise((r) => setImmediate(r));
    await expect(closeStream(file)).rejects.toMatchObject({ code: 'ENOSPC' });
    expect((await told).code).toBe('ENOSPC');
  });

  it('answers ENOSPC when ended before the write has failed, and resolves for a file it could write', async () => {
    const full = (await open('/dev/full', 'w')).createWriteStream();
    full.on('error', () => undefined);
    full.write('x');
    await expect(closeStream(full)).rejects.toMatchObject({ code: 'ENOSPC' });
    const path = join(await tempDir(), 'out.txt');
    const ok = (await open(path, 'w')).createWriteStream();
    ok.write('line\n');
    await closeStream(ok);
    expect(await readFile(path, 'utf8')).toBe('line\n');
  });
});
