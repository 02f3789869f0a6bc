/**
 * The key usernames are compared and throttled by: NFKC, then Unicode case folding, then NFKC
 * again. Case folding is approximated by upper- then lower-casing (ß → ss, ς → σ as full folding
 * does), applied twice because one pass maps capital ẞ to ß, which only a second pass folds to ss.
 * `Alice`, `ALICE` and `ａｌｉｃｅ` are one account, and so are `STRAẞE`, `straße` and `strasse`.
 */
export function usernameKey(username: string): string {
  return fold(fold(username.normalize('NFKC'))).normalize('NFKC');
}

function fold(value: string): string {
  return value.toUpperCase().toLowerCase();
}
