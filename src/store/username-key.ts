/**
 * The key usernames are compared and throttled by: NFKC, then Unicode case folding (approximated
 * by upper- then lower-casing, which folds ß to ss and ς to σ as full folding does), then NFKC again.
 * `Alice`, `ALICE` and `ａｌｉｃｅ` are one account.
 */
export function usernameKey(username: string): string {
  return username.normalize('NFKC').toUpperCase().toLowerCase().normalize('NFKC');
}
