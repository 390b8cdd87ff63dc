/**
 * Errors of the data loaders: each names the file at fault and says how to fix it, so a bad archive never turns into
 * a silent empty dataset.
 */

/** A dataset file is missing, corrupt or not what the loader expects. */
export class DataError extends Error {
  /** @param file the file (or archive member) at fault; @param fix one sentence on what to do about it. */
  constructor(message: string, readonly file: string, readonly fix: string) {
    super(`${message} ${fix}`);
    this.name = "DataError";
  }
}
