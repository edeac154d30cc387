/**
 * Reading a file of the project only when it is a regular file. A pull request or a leftover can
 * put a directory, a FIFO, a socket or a device where flagops expects a flag file or a manifest
 * (git checks out a submodule as a folder; `mkfifo dist/production/x.yaml` is one command), and
 * opening one for reading fails (EISDIR) or blocks forever (a FIFO waits for a writer). So the path
 * is looked at with lstat first (no link followed) and anything else is never opened; a regular
 * file is opened with O_NOFOLLOW and O_NONBLOCK and checked again with fstat, so that a path
 * swapped for a link or a FIFO between the two steps fails or is refused, and never blocks.
 */
import { closeSync, constants, fstatSync, lstatSync, openSync, readSync, type Dirent, type Stats } from 'node:fs';

/** What a path is, in words a message can use. */
export type EntryKind = 'file' | 'directory' | 'symbolic link' | 'FIFO' | 'socket' | 'character device' | 'block device' | 'special file';

/** The kind of an lstat result or a directory entry (never follows a link). */
export function kindOf(entry: Stats | Dirent): EntryKind {
  if (entry.isFile()) return 'file';
  if (entry.isDirectory()) return 'directory';
  if (entry.isSymbolicLink()) return 'symbolic link';
  if (entry.isFIFO()) return 'FIFO';
  if (entry.isSocket()) return 'socket';
  if (entry.isCharacterDevice()) return 'character device';
  if (entry.isBlockDevice()) return 'block device';
  return 'special file';
}

/** `a directory`, `a FIFO (named pipe)`, `a socket`, ... */
export function describeKind(kind: EntryKind): string {
  switch (kind) {
    case 'FIFO':
      return 'a FIFO (named pipe)';
    case 'directory':
      return 'a directory';
    default:
      return `a ${kind}`;
  }
}

/** The kind of the entry at `absolute` (lstat), or undefined when there is none. */
export function entryKind(absolute: string): EntryKind | undefined {
  try {
    return kindOf(lstatSync(absolute));
  } catch {
    return undefined;
  }
}

/** What reading a path gave: its bytes, or why there are none. */
export type RegularFile =
  | { readonly status: 'read'; readonly bytes: Buffer }
  | { readonly status: 'absent' }
  /** Something other than a regular file (never opened for reading). */
  | { readonly status: 'not-a-file'; readonly kind: EntryKind }
  /** Larger than the limit (not read). */
  | { readonly status: 'too-large'; readonly size: number }
  /** The system refused to open or read it (EACCES, EIO, ...). */
  | { readonly status: 'unreadable'; readonly code: string };

// Not on every platform; 0 leaves the flag out (the lstat and fstat checks still hold).
const OPEN_FLAGS = constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0) | (constants.O_NONBLOCK ?? 0);

/**
 * The bytes of the regular file at `absolute`, at most `maxBytes` of them. A directory, FIFO,
 * socket, device or symbolic link is reported by kind without being opened for reading.
 */
export function readRegularFile(absolute: string, maxBytes: number): RegularFile {
  let st: Stats;
  try {
    st = lstatSync(absolute);
  } catch (e) {
    return failure(e);
  }
  if (!st.isFile()) return { status: 'not-a-file', kind: kindOf(st) };
  if (st.size > maxBytes) return { status: 'too-large', size: st.size };
  let fd: number;
  try {
    fd = openSync(absolute, OPEN_FLAGS);
  } catch (e) {
    // ELOOP: the path became a symbolic link since the lstat; ENXIO: a socket.
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ELOOP') return { status: 'not-a-file', kind: 'symbolic link' };
    if (code === 'ENXIO') return { status: 'not-a-file', kind: 'socket' };
    return failure(e);
  }
  try {
    const opened = fstatSync(fd);
    if (!opened.isFile()) return { status: 'not-a-file', kind: kindOf(opened) };
    if (opened.size > maxBytes) return { status: 'too-large', size: opened.size };
    return readAll(fd, opened.size, maxBytes);
  } catch (e) {
    return failure(e);
  } finally {
    closeSync(fd);
  }
}

/** Reads `fd` to its end (a file may grow while it is read: at most `maxBytes`). */
function readAll(fd: number, size: number, maxBytes: number): RegularFile {
  let buffer = Buffer.allocUnsafe(Math.min(size, maxBytes) + 1);
  let length = 0;
  for (;;) {
    if (length === buffer.length) {
      if (length > maxBytes) return { status: 'too-large', size: length };
      const larger = Buffer.allocUnsafe(Math.min(buffer.length * 2, maxBytes + 1));
      buffer.copy(larger, 0, 0, length);
      buffer = larger;
    }
    const n = readSync(fd, buffer, length, buffer.length - length, null);
    if (n === 0) break;
    length += n;
  }
  if (length > maxBytes) return { status: 'too-large', size: length };
  return { status: 'read', bytes: buffer.subarray(0, length) };
}

function failure(e: unknown): RegularFile {
  const code = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
  // ENOTDIR: a folder on the way is a file, so nothing is at the path.
  if (code === 'ENOENT' || code === 'ENOTDIR') return { status: 'absent' };
  return { status: 'unreadable', code };
}

/** `20.0 MiB`. */
export const mib = (bytes: number, digits = 1): string => `${(bytes / 1024 / 1024).toFixed(digits)} MiB`;
