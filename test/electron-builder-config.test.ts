import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import { build } from 'esbuild';
import { minimatch } from 'minimatch';
import { describe, expect, it } from 'vitest';

// electron-builder cannot package here (it downloads Electron), so its configuration is checked as
// electron-builder reads it: parsed with its YAML parser, validated against its own JSON schema, and
// its file rules matched (with the glob matcher it uses) against the real files of a build.

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const require = createRequire(import.meta.url);
// js-yaml ships no types; it is electron-builder's own YAML parser.
const yaml = require('js-yaml') as { load(text: string): unknown };

interface FileSet {
  from: string;
  to: string;
  filter: string[];
}
interface Target {
  target: string;
  arch: string[];
}
interface Config {
  files: string[];
  asarUnpack: string[];
  extraResources: FileSet[];
  electronFuses: Record<string, boolean>;
  publish: unknown;
  npmRebuild: boolean;
  win: { target: Target[] };
  nsis: Record<string, unknown>;
  msi: Record<string, unknown>;
  mac: { target: Target[]; hardenedRuntime: boolean; notarize: boolean };
  linux: { target: Target[] };
}

const TEXT = readFileSync(join(ROOT, 'electron-builder.yml'), 'utf8');
const config = yaml.load(TEXT) as Config;
const targets = (list: Target[]) => list.map((entry) => entry.target);

/** Every file under `dir` (relative to the project root, with `/`). */
function filesUnder(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(ROOT, join(entry.parentPath, entry.name)).split(sep).join('/'));
}

/** Whether electron-builder's `files` patterns take a file: some pattern includes it and no `!` pattern excludes it. */
function packed(file: string): boolean {
  const matches = (pattern: string) => minimatch(file, pattern, { dot: true });
  const excluded = config.files.some((pattern) => pattern.startsWith('!') && matches(pattern.slice(1)));
  // node_modules is not listed: electron-builder adds the production dependencies itself.
  const included = file.startsWith('node_modules/') || config.files.some((pattern) => !pattern.startsWith('!') && matches(pattern));
  return included && !excluded;
}

const unpacked = (file: string) => config.asarUnpack.some((pattern) => minimatch(file, pattern, { dot: true }));

describe('electron-builder.yml', () => {
  it("is valid against app-builder-lib's schema", () => {
    const schema = JSON.parse(readFileSync(require.resolve('app-builder-lib/scheme.json'), 'utf8')) as object;
    const validate = new Ajv({ allErrors: true, strict: false }).compile(schema);
    expect(validate(config), JSON.stringify(validate.errors, null, 2)).toBe(true);
  });

  it('builds a per-machine assisted NSIS installer and a real MSI on Windows, keeping user data on uninstall', () => {
    expect(targets(config.win.target)).toEqual(['nsis', 'msi']);
    expect(config.nsis).toMatchObject({ oneClick: false, perMachine: true, deleteAppDataOnUninstall: false });
    expect(config.msi).toMatchObject({ perMachine: true });
    // The NSIS include registers the audit copies' event log source, and removes it at uninstall.
    const include = readFileSync(join(ROOT, config.nsis.include as string), 'utf8');
    expect(include).toMatch(/!macro customInstall[\s\S]*New-EventLog -LogName Application -Source Gatehouse[\s\S]*!macroend/);
    expect(include).toMatch(/!macro customUnInstall[\s\S]*Remove-EventLog -Source Gatehouse[\s\S]*!macroend/);
  });

  it('builds a dmg and a zip on macOS, hardened, notarized from the environment only', () => {
    expect(targets(config.mac.target)).toEqual(['dmg', 'zip']);
    expect(config.mac).toMatchObject({ hardenedRuntime: true, notarize: true });
    // No credential in the file: signing and notarization read them from the environment.
    expect(TEXT).not.toMatch(/^\s*(cscLink|cscKeyPassword|password|appleId|appleIdPassword|teamId|keychain)\s*:/im);
  });

  it('builds an AppImage, a deb and an rpm on Linux', () => {
    expect(targets(config.linux.target)).toEqual(['AppImage', 'deb', 'rpm']);
  });

  it('sets the fuses: no running as Node, no NODE_OPTIONS, no inspector, asar integrity on, app only from asar', () => {
    expect(config.electronFuses).toMatchObject({
      runAsNode: false,
      enableNodeOptionsEnvironmentVariable: false,
      enableNodeCliInspectArguments: false,
      enableEmbeddedAsarIntegrityValidation: true,
      onlyLoadAppFromAsar: true,
    });
  });

  it('publishes nowhere and never rebuilds node_modules in place', () => {
    expect(config.publish).toBeNull();
    expect(config.npmRebuild).toBe(false);
  });

  it("ships the provisioning folder and the Electron-ABI SQLite module where main.ts loads it", () => {
    expect(config.extraResources).toContainEqual(expect.objectContaining({ from: 'provisioning', to: 'provisioning' }));
    expect(existsSync(join(ROOT, 'provisioning/README.md'))).toBe(true);
    expect(config.extraResources).toContainEqual({ from: 'native/electron/${platform}-${arch}', to: 'native', filter: ['better_sqlite3.node'] });
    expect(readFileSync(join(ROOT, 'main/main.ts'), 'utf8')).toContain("join(process.resourcesPath, 'native', 'better_sqlite3.node')");
  });

  it('packs what the app runs and none of the sources, tests, declarations or maps', () => {
    const built = [...filesUnder('dist'), ...filesUnder('dist-app')];
    for (const file of ['package.json', 'dist/index.js', 'dist/electron/index.js', 'dist-app/main/main.js', 'dist-app/preload.cjs', 'dist-app/renderer/index.html', 'dist-app/renderer/main.js']) {
      expect(packed(file), file).toBe(true);
    }
    const tracked = execFileSync('git', ['ls-files'], { cwd: ROOT, encoding: 'utf8' }).trim().split('\n');
    const leaked = [...tracked, ...built].filter(
      (file) => packed(file) && !/^(package\.json|dist\/.*\.js|dist-app\/(main\/.*\.js|preload\.cjs|renderer\/.*\.(js|css|html)))$/.test(file),
    );
    expect(leaked).toEqual([]);
    expect(built.filter((file) => file.startsWith('dist-app/test/')).length).toBeGreaterThan(0);
    expect(packed('node_modules/better-sqlite3/lib/index.js')).toBe(true);
    expect(packed('node_modules/better-sqlite3/build/Release/better_sqlite3.node')).toBe(false);
  });

  it('unpacks from the asar everything a worker thread or the resource service loads, as built in dist/', async () => {
    // Every module loaded by path (`new URL('./x.js', import.meta.url)`) is an entry: a worker or the service.
    const entries = filesUnder('dist')
      .filter((file) => file.endsWith('.js'))
      .flatMap((file) =>
        [...readFileSync(join(ROOT, file), 'utf8').matchAll(/new URL\('\.\/([\w.-]+\.js)', import\.meta\.url\)/g)].map((match) => `${file.slice(0, file.lastIndexOf('/'))}/${match[1]}`),
      );
    expect(entries.sort()).toEqual(['dist/passwords/hash-worker.js', 'dist/resource/service-main.js', 'dist/store/quick-check-worker.js', 'dist/store/wal-checkpoint-worker.js']);
    for (const entry of entries) expect(existsSync(join(ROOT, entry)), entry).toBe(true);

    // What each entry imports, as Node resolves it; node_modules is a symlink here, so paths are cut to it.
    const { metafile } = await build({ entryPoints: entries.map((entry) => join(ROOT, entry)), bundle: true, write: false, platform: 'node', format: 'esm', outdir: 'unused', metafile: true, logLevel: 'silent' });
    const loaded = Object.keys(metafile.inputs).map((input) => (input.includes('node_modules/') ? input.slice(input.indexOf('node_modules/')) : input));
    expect(loaded).toContain('node_modules/better-sqlite3/lib/index.js');
    expect(loaded.filter((file) => !unpacked(file))).toEqual([]);
    // The unpacked ES modules need the package's "type": "module" beside them.
    expect(unpacked('package.json')).toBe(true);
    expect(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'))).toMatchObject({ type: 'module' });
  });
});
