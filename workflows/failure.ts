/** The innermost message of a failure chain (ActivityFailure → ApplicationFailure → …): the device's own words. */
export function rootMessage(err: unknown): string {
  let e: any = err;
  while (e?.cause) e = e.cause;
  return e?.message ?? String(err);
}
