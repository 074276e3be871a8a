/**
 * `fn`, remembering its last argument and result only: called again with the same argument (the
 * promise the writes of one tick share) it returns the same result without calling `fn`, so a
 * batch of callers makes one result, not one each.
 */
export function lastResultOf<A, R>(fn: (arg: A) => R): (arg: A) => R {
  let called = false;
  let lastArg: A;
  let last: R;
  return (arg) => {
    if (!called || arg !== lastArg) {
      called = true;
      lastArg = arg;
      last = fn(arg);
    }
    return last;
  };
}
