// Which implementation a multiprocessing name stands for: the addon's, or
// without it (native === null) the portable backend's, kept by its hub.
import { native } from '../core/native';

/** `nativeImpl` where the addon loaded, else `portableImpl` (same API). */
export function pick<T>(nativeImpl: T, portableImpl: unknown): T {
  return native === null ? (portableImpl as T) : nativeImpl;
}
