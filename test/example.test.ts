import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// The README's quick start points at examples/quick-start.mjs. Run it as a real child process
// against the built package, so the documented example can never rot.
const EXAMPLE = fileURLToPath(new URL('../examples/quick-start.mjs', import.meta.url));
const ROOT = fileURLToPath(new URL('..', import.meta.url));

function runExample(): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [EXAMPLE], { cwd: ROOT, timeout: 60_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

describe('examples/quick-start.mjs', () => {
  it('runs to completion and prints each milestone in order', async () => {
    const { code, stdout, stderr } = await runExample();
    expect(code, stderr).toBe(0);
    // No engine warnings (failed listeners, failed background tasks) and no errors.
    expect(stderr).not.toMatch(/gatehouse|Error/);

    const milestones: RegExp[] = [
      /^engine opened: .*auth\.db$/m,
      /^client registered: desktop \(public\)$/m,
      /^client registered: records-service \(confidential, secret 43 chars\)$/m,
      /^user added: alice \(id [0-9a-f-]{36}, scope "records:read records:write"\)$/m,
      /^signed in: token_type=Bearer expires_in=300 scope="records:read records:write"$/m,
      /^ {2}access_token {2}v4\.public\./m,
      /^wrong password refused: 400 \{"error":"invalid_grant","error_description":"The username or password is incorrect\."\}$/m,
      /^access token verified: sub=[0-9a-f-]{36} username=alice scope="records:read records:write"$/m,
      /^ {2}footer kid k4\.pid\.[A-Za-z0-9_-]{44} \(published: true\)$/m,
      /^introspection \(records-service\): active=true username=alice exp=\d+$/m,
      /^refreshed: refresh token rotated=true$/m,
      /^ {2}revocation event: sid=[0-9a-f-]{36} /m,
      /^refresh token revoked$/m,
      /^access token after revoke: revoked$/m,
      /^introspection after revoke: active=false$/m,
      /^old refresh token replayed: invalid_grant$/m,
      /^ {2}session [0-9a-f-]{36} client=desktop ended=reuse_detected$/m,
      /^ {2}session [0-9a-f-]{36} client=desktop ended=signed_out$/m,
      /^engine closed$/m,
    ];
    let from = 0;
    for (const milestone of milestones) {
      const rest = stdout.slice(from);
      const match = milestone.exec(rest);
      expect(match, `missing (after offset ${from}): ${milestone}\n--- stdout ---\n${stdout}`).not.toBeNull();
      from += match!.index + match![0].length;
    }
    // Two sessions ended, so two revocation events: sign-out and reuse detection.
    expect(stdout.match(/^ {2}revocation event: /gm)).toHaveLength(2);
  });
});
