import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { DEFAULT_APP_POLICY, type AppPolicy } from '../dist/electron/app-policy.js';
import { POLICY_KEY_PATH, readRegistryPolicy, REGISTRY_VALUES } from '../dist/electron/registry-policy.js';

// The ADMX/ADML shipped for Group Policy and Intune, parsed as XML and checked against what the
// registry reader maps: one policy per AppPolicy field, the same value names and types, and every
// string and presentation the ADMX names present in the ADML.

/**
 * The part of @xmldom/xmldom's DOM used here. Its own typings pull the whole DOM library into the
 * project's type check (`/// <reference lib="dom" />`), which changes the types of fetch for src/;
 * so it is loaded untyped and described structurally.
 */
interface XmlNode {
  nodeType: number;
  localName: string;
  namespaceURI: string | null;
  childNodes: ArrayLike<XmlNode>;
  attributes: ArrayLike<{ value: string }>;
  documentElement?: XmlNode;
  getAttribute(name: string): string | null;
  getElementsByTagNameNS(namespace: string, name: string): ArrayLike<XmlNode>;
}
type ErrorHandler = (message: string) => void;
const { DOMParser } = createRequire(import.meta.url)('@xmldom/xmldom') as {
  DOMParser: new (options: { errorHandler: { warning: ErrorHandler; error: ErrorHandler; fatalError: ErrorHandler } }) => { parseFromString(text: string, type: string): XmlNode };
};

const ADMX_NS = 'http://schemas.microsoft.com/GroupPolicy/2006/07/PolicyDefinitions';
const FIELDS = Object.keys(DEFAULT_APP_POLICY) as Array<keyof AppPolicy>;

/** Parses a template, failing on any XML warning or error. */
function parse(path: string): XmlNode {
  const problems: string[] = [];
  const record = (level: string) => (message: string) => problems.push(`${level}: ${message}`);
  const text = readFileSync(fileURLToPath(new URL(`../policy-templates/windows/${path}`, import.meta.url)), 'utf8');
  const document = new DOMParser({ errorHandler: { warning: record('warning'), error: record('error'), fatalError: record('fatal') } }).parseFromString(text, 'text/xml');
  expect(problems, path).toEqual([]);
  expect(document.documentElement?.namespaceURI).toBe(ADMX_NS);
  return document;
}

const all = (node: XmlNode, name: string) => Array.from(node.getElementsByTagNameNS(ADMX_NS, name));
const only = (node: XmlNode, name: string) => {
  const found = all(node, name);
  expect(found, `one <${name}> in ${node.getAttribute('name')}`).toHaveLength(1);
  return found[0]!;
};
/** The element children of `node` (xmldom has no `children`). */
const childElements = (node: XmlNode) => Array.from(node.childNodes).filter((child) => child.nodeType === 1);

const admx = parse('gatehouse.admx');
const adml = parse('en-US/gatehouse.adml');
const policies = all(admx, 'policy');

describe('the ADMX template', () => {
  it('has one policy per AppPolicy field, for the computer and the user, under the key the app reads', () => {
    expect(policies.map((policy) => policy.getAttribute('name'))).toEqual(FIELDS.map((field) => REGISTRY_VALUES[field].valueName));
    for (const policy of policies) {
      expect(policy.getAttribute('key')).toBe(POLICY_KEY_PATH);
      expect(policy.getAttribute('class')).toBe('Both');
    }
  });

  it('writes each setting with the value name and registry type the reader maps', () => {
    for (const field of FIELDS) {
      const { valueName, kind } = REGISTRY_VALUES[field];
      const policy = policies.find((candidate) => candidate.getAttribute('name') === valueName)!;
      const elements = all(policy, 'elements')[0];
      const inputs = elements ? childElements(elements) : [];
      const what = `${field} (${kind})`;
      if (kind === 'boolean') {
        // A checkbox-like policy: the policy's own value, REG_DWORD 1 when enabled and 0 when disabled.
        expect(inputs, what).toEqual([]);
        expect(policy.getAttribute('valueName'), what).toBe(valueName);
        expect(only(only(policy, 'enabledValue'), 'decimal').getAttribute('value'), what).toBe('1');
        expect(only(only(policy, 'disabledValue'), 'decimal').getAttribute('value'), what).toBe('0');
        continue;
      }
      expect(inputs, what).toHaveLength(1);
      const input = inputs[0]!;
      expect(input.getAttribute('valueName'), what).toBe(valueName);
      expect(input.getAttribute('id'), what).toBe(valueName);
      switch (kind) {
        case 'seconds':
          // decimal writes REG_DWORD unless storeAsText; its range is the schema's.
          expect([input.localName, input.getAttribute('storeAsText') || 'false', input.getAttribute('minValue'), input.getAttribute('maxValue')], what).toEqual(['decimal', 'false', '0', '86400']);
          break;
        case 'text':
          expect([input.localName, input.getAttribute('expandable') || 'false', input.getAttribute('maxLength')], what).toEqual(['text', 'false', '80']);
          break;
        case 'multiText':
          expect([input.localName, input.getAttribute('maxLength')], what).toEqual(['multiText', '500']);
          break;
        case 'expandableText':
          expect([input.localName, input.getAttribute('expandable'), input.getAttribute('maxLength')], what).toEqual(['text', 'true', '4096']);
          break;
      }
    }
  });

  it('resolves every string, presentation, category and supportedOn reference', () => {
    const strings = new Set(all(adml, 'string').map((node) => node.getAttribute('id')));
    const presentations = new Map(all(adml, 'presentation').map((node) => [node.getAttribute('id'), node]));
    const categories = new Set(all(admx, 'category').map((node) => node.getAttribute('name')));
    const supported = new Set(all(admx, 'definition').map((node) => node.getAttribute('name')));
    const references: string[] = [];
    for (const node of all(admx, '*')) {
      for (const attribute of Array.from(node.attributes)) {
        const reference = /^\$\((string|presentation)\.([^)]+)\)$/.exec(attribute.value);
        if (!reference) continue;
        references.push(attribute.value);
        if (reference[1] === 'string') expect(strings.has(reference[2]!), attribute.value).toBe(true);
        else expect(presentations.has(reference[2]!), attribute.value).toBe(true);
      }
    }
    // Every policy has a name and an explanation; those with elements, a presentation.
    expect(references.filter((value) => value.startsWith('$(string.')).length).toBeGreaterThanOrEqual(policies.length * 2);
    for (const policy of policies) {
      expect(categories.has(only(policy, 'parentCategory').getAttribute('ref'))).toBe(true);
      expect(supported.has(only(policy, 'supportedOn').getAttribute('ref'))).toBe(true);
      const elements = all(policy, 'elements')[0];
      if (!elements) continue;
      // Each presentation control refers to an element of its own policy, and each element has one.
      const presentation = presentations.get(/^\$\(presentation\.(.+)\)$/.exec(policy.getAttribute('presentation') ?? '')?.[1] ?? '');
      expect(presentation, policy.getAttribute('name') ?? '').toBeDefined();
      const refIds = childElements(presentation!).map((control) => control.getAttribute('refId'));
      expect(refIds).toEqual(childElements(elements).map((element) => element.getAttribute('id')));
    }
  });

  it('what Group Policy writes from it reads back through the registry reader', async () => {
    // The values each element writes when enabled, as reg.exe prints them.
    const lines = [
      '    AppName    REG_SZ    Acme Records',
      '    HelpdeskText    REG_MULTI_SZ    Call 4242.\\0Or write to help@acme.example.',
      '    IdleLockSeconds    REG_DWORD    0x12c',
      '    StaySignedInAllowed    REG_DWORD    0x1',
      '    PersistentSigningKeys    REG_DWORD    0x0',
      '    DataDirectory    REG_EXPAND_SZ    %ProgramData%\\Gatehouse',
      '    AuditForwarding    REG_DWORD    0x1',
    ];
    const written = policies.map((policy) => policy.getAttribute('name'));
    expect(lines.map((line) => line.trim().split(/ {4}/)[0])).toEqual(written);
    const stdout = ['', `HKEY_LOCAL_MACHINE\\${POLICY_KEY_PATH}`, ...lines, '', ''].join('\r\n');
    const { settings } = await readRegistryPolicy('HKLM', { run: async () => ({ exitCode: 0, stdout, stderr: '' }), env: { ProgramData: 'C:\\ProgramData' } });
    expect(Object.keys(settings)).toEqual(FIELDS);
  });
});
