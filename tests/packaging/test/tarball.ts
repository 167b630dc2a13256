import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';

/**
 * The regular files of an npm tarball (`.tgz`, ustar), keyed by their path inside the package
 * (the leading `package/` removed). Enough for what `npm pack` / `pnpm pack` write: no long-name
 * extensions are needed for paths under 255 characters.
 */
export function readTarball(path: string): Map<string, Buffer> {
  const archive = gunzipSync(readFileSync(path));
  const files = new Map<string, Buffer>();
  let offset = 0;
  while (offset + 512 <= archive.length) {
    const header = archive.subarray(offset, offset + 512);
    if (header.every((byte) => byte === 0)) break;
    const field = (start: number, length: number): string =>
      header
        .subarray(start, start + length)
        .toString('utf8')
        .replace(/\0.*$/s, '');
    const name = field(0, 100);
    const prefix = field(345, 155);
    const size = Number.parseInt(field(124, 12).trim() || '0', 8);
    const type = field(156, 1);
    const body = archive.subarray(offset + 512, offset + 512 + size);
    if (type === '0' || type === '') {
      const fullName = prefix === '' ? name : `${prefix}/${name}`;
      files.set(fullName.replace(/^package\//, ''), Buffer.from(body));
    }
    offset += 512 + Math.ceil(size / 512) * 512;
  }
  return files;
}
