import { fork } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { openEngine, type Engine } from '../dist/index.js';
import { utilityProcessLauncher, type UtilityChild, type UtilityProcessModule } from '../dist/electron/utility-process.js';
import { superviseResourceService } from '../dist/resource/supervisor.js';
import { PASSWORD, tempDir } from './helpers.js';

// utilityProcessLauncher drives the real resource service under the real supervisor. Electron's
// utilityProcess cannot exist here (no Electron binary), so Node's fork stands in for it, with the
// utility process's API (postMessage, 'message' with the message itself, 'exit' with a code, kill).

const ENTRY = fileURLToPath(new URL('../dist/resource/service-main.js', import.meta.url));
const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface ForkCall {
  modulePath: string;
  args: string[] | undefined;
  options: unknown;
  pid: number | undefined;
}

/** Node's fork behind the utilityProcess API (a stand-in: there is no Electron here). */
function forkAsUtilityProcess(calls: ForkCall[]): UtilityProcessModule {
  return {
    fork(modulePath, args, options) {
      const child = fork(modulePath, args ?? [], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
      calls.push({ modulePath, args, options, pid: child.pid });
      const events = new EventEmitter();
      child.on('message', (message) => events.emit('message', message));
      child.on('exit', (code, signal) => events.emit('exit', code ?? (signal ? 1 : 0)));
      const utility: UtilityChild = {
        postMessage: (message) => void child.send(message as object),
        on: (event, listener) => events.on(event, listener),
        once: (event, listener) => events.once(event, listener),
        kill: () => child.kill('SIGKILL'),
      };
      return utility;
    },
  };
}

async function engineWithAlice(): Promise<Engine> {
  const engine = await openEngine({ path: join(tempDir(), 'auth.db'), hashWorkers: 1 });
  cleanups.push(() => engine.close());
  engine.clients.add({ id: 'desktop', secret: 'none', scope: ['records:read'] });
  await engine.users.add({ username: 'alice', password: PASSWORD, scope: ['records:read'] });
  return engine;
}

async function meStatus(base: string, token: string): Promise<number> {
  return (await fetch(`${base}/api/me`, { headers: { Authorization: `Bearer ${token}` } })).status;
}

describe('utilityProcessLauncher, with Node fork standing in for Electron utilityProcess (no Electron here)', () => {
  it('starts the service entry as a named utility process, feeds it, restarts it after a crash on the same port, and stops it', async () => {
    const engine = await engineWithAlice();
    const calls: ForkCall[] = [];
    const log: string[] = [];
    const service = await superviseResourceService(
      engine,
      { port: 0, dataPath: join(tempDir(), 'data.db'), log: (line) => log.push(line) },
      utilityProcessLauncher(forkAsUtilityProcess(calls)),
    );
    cleanups.push(() => service.close());
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({ modulePath: ENTRY, options: { serviceName: 'Gatehouse resource service', stdio: ['ignore', 'ignore', 'inherit'] } });
    expect(calls[0]!.args).toEqual(expect.arrayContaining(['--port=0', `--issuer=${engine.issuer}`, `--audience=${engine.audience}`]));

    const tokens = await engine.token({ grant_type: 'password', client_id: 'desktop', username: 'alice', password: PASSWORD });
    expect(await meStatus(service.url, tokens.access_token)).toBe(200);
    await engine.revoke({ token: tokens.refresh_token!, client_id: 'desktop' });
    await service.sync();
    expect(await meStatus(service.url, tokens.access_token)).toBe(401);

    // A crash is reported through 'exit' with its code; the supervisor starts another on the same port.
    process.kill(calls[0]!.pid!, 'SIGKILL');
    await expect.poll(() => log.includes('resource service restarted'), { timeout: 20_000 }).toBe(true);
    expect(calls).toHaveLength(2);
    expect(calls[1]!.args).toContain(`--port=${service.port}`);
    expect(log[0]).toBe('resource service exited with code 1; restarting it');
    const again = await engine.token({ grant_type: 'password', client_id: 'desktop', username: 'alice', password: PASSWORD });
    expect(await meStatus(service.url, again.access_token)).toBe(200);

    await service.close();
    await expect(fetch(`${service.url}/api/me`)).rejects.toThrow();
  });
});
